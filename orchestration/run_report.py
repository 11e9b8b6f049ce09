"""What a run did, for the operator: published or not, which gates failed and why, which deliveries were rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from orchestration.settings import Settings

PUBLISHED = dg.AssetKey(["published", "serving_duckdb"])


@dataclass
class RunReport:
    published: bool
    published_metadata: dict[str, Any] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)  # "asset: check — description"
    errors: list[str] = field(default_factory=list)  # steps that failed for another reason
    rejected: list[dict[str, str]] = field(default_factory=list)
    landed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_result(cls, result: dg.ExecuteInProcessResult) -> RunReport:
        materialized = {e.asset_key: e for e in result.get_asset_materialization_events()}
        report = cls(published=PUBLISHED in materialized)
        if report.published:
            report.published_metadata = _plain_metadata(materialized[PUBLISHED].materialization.metadata)
        evaluations = result.get_asset_check_evaluations()
        for evaluation in evaluations:
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                report.failed_checks.append(
                    f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name}"
                    + (f"\n    {evaluation.description}" if evaluation.description else "")
                )
        for event in result.get_step_failure_events():
            error = event.step_failure_data.error
            if error is None or error.cls_name == "DagsterAssetCheckFailedError":
                continue  # already reported through its check evaluations
            cause = error.cause.message.strip() if error.cause else ""
            report.errors.append(f"step {event.step_key}: {error.message.strip()}" + (f"\n    {cause}" if cause else ""))
        for key, event in materialized.items():
            if key.path[0] == "raw":
                meta = _plain_metadata(event.materialization.metadata)
                report.landed[key.to_user_string()] = meta
                report.rejected.extend(meta.get("rejected") or [])
        return report

    def render(self, settings: Settings, elapsed_s: float) -> str:
        lines = []
        for asset, meta in self.landed.items():
            if "files_landed" in meta:
                lines.append(
                    f"{asset}: {meta['files_landed']} files landed, {meta.get('files_unchanged', 0)} unchanged, "
                    f"{meta.get('files_rejected', 0)} rejected; {meta.get('rows_landed', 0)} rows landed, "
                    f"{meta.get('rows_quarantined', 0)} quarantined"
                )
            elif meta.get("api_configured"):
                lines.append(
                    f"{asset}: {meta.get('pages', 0)} pages; {meta.get('rows_landed', 0)} rows landed, "
                    f"{meta.get('rows_quarantined', 0)} quarantined; watermark {meta.get('watermark')}"
                )
        if self.rejected:
            lines.append(f"rejected deliveries ({len(self.rejected)}), nothing of them was landed:")
            lines += [f"  - {r['problem']}" for r in self.rejected]
        if self.published:
            tables = self.published_metadata.get("tables", {})
            lines.append(
                f"PUBLISHED {len(tables)} tables ({self.published_metadata.get('rows', 0):,} rows) "
                f"to {settings.serving_db} in {elapsed_s:.0f} s"
            )
            lines.append(f"  query it:  duckdb -readonly {settings.serving_db}  (schemas analytics and ops)")
            lines.append("  the UI:    make dev, then open http://127.0.0.1:3000")
        else:
            lines.append(f"NOT PUBLISHED: the serving copy at {settings.serving_db} was left as it was.")
            if self.failed_checks:
                lines.append("failing checks:")
                lines += [f"  - {c}" for c in self.failed_checks]
            if self.errors:
                lines.append("failed steps:")
                lines += [f"  - {e}" for e in self.errors]
            lines.append(f"  Data Docs: {settings.quality_docs / 'index.html'}")
        return "\n".join(lines)


def _plain_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}
