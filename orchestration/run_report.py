"""What a run did, for the operator: published or not, which gates failed and why, which deliveries were rejected."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.defs.publish import BLOCKED_SHRINK
from orchestration.settings import Settings

PUBLISHED = dg.AssetKey(["published", "serving_duckdb"])
PUBLISHED_POSTGRES = dg.AssetKey(["published", "serving_postgres"])
# Steps of a run by stage, from their keys (raw assets, the dbt build, gate checks, publication).
STAGES = (("land", "raw__"), ("dbt build", "dbt_models"), ("gates", "gates_"), ("publish", "published__"))


def stage_seconds(steps: list[tuple[str, float]]) -> dict[str, float]:
    """Seconds spent per stage, from (step key, seconds) pairs; steps of no known stage are left out."""
    totals: dict[str, float] = {}
    for key, seconds in steps:
        stage = next((name for name, prefix in STAGES if key.startswith(prefix)), None)
        if stage:
            totals[stage] = totals.get(stage, 0.0) + seconds
    return totals


def query_hint(serving_db: Path) -> str:
    """A command that opens the serving file read-only with what is installed: the DuckDB shell when it is on PATH,
    otherwise this Python's duckdb module (the pipeline's own dependency) listing the tables."""
    if shutil.which("duckdb"):
        return f"duckdb -readonly {shlex.quote(str(serving_db))}"
    code = (f"import duckdb; duckdb.connect({json.dumps(str(serving_db))}, read_only=True)"
            ".sql(\"SELECT schema_name, table_name, estimated_size FROM duckdb_tables()\").show(max_rows=100)")
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _indented(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line.strip() for line in text.splitlines() if line.strip())


def failed_checks(evaluations) -> tuple[list[str], list[str]]:
    """The failed checks among asset check evaluations, as (blocking, warnings): "assets: check" and the
    description, indented. One entry per check and outcome: a family's gate is reported on both channels' assets."""
    grouped: dict[tuple[str, str, bool], list[str]] = {}
    for evaluation in evaluations:
        if evaluation.passed:
            continue
        blocking = evaluation.severity == dg.AssetCheckSeverity.ERROR
        key = (evaluation.check_name, evaluation.description or "", blocking)
        grouped.setdefault(key, []).append(evaluation.asset_key.to_user_string())
    blocking_lines: list[str] = []
    warning_lines: list[str] = []
    for (check, description, blocking), assets in grouped.items():
        line = f"{', '.join(assets)}: {check}" + (f"\n{_indented(description)}" if description else "")
        (blocking_lines if blocking else warning_lines).append(line)
    return blocking_lines, warning_lines


@dataclass
class RunReport:
    published: bool
    published_metadata: dict[str, Any] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)  # "assets: check" and the description, indented
    warnings: list[str] = field(default_factory=list)  # failed checks of severity WARN, same form
    postgres: dict[str, Any] | None = None  # the PostgreSQL publication's metadata, when it ran
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    errors: list[str] = field(default_factory=list)  # steps that failed for another reason
    # Publications refused because they would shrink a table: also in `errors`, so that the run fails whatever else
    # was published, but rendered on their own.
    blocked: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    landed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_result(cls, result: dg.ExecuteInProcessResult, steps: list[tuple[str, float]] = ()) -> RunReport:
        materialized = {e.asset_key: e for e in result.get_asset_materialization_events()}
        report = cls(published=PUBLISHED in materialized, timings=stage_seconds(list(steps)))
        if report.published:
            report.published_metadata = _plain_metadata(materialized[PUBLISHED].materialization.metadata)
        if PUBLISHED_POSTGRES in materialized:
            report.postgres = _plain_metadata(materialized[PUBLISHED_POSTGRES].materialization.metadata)
        report.failed_checks, report.warnings = failed_checks(result.get_asset_check_evaluations())
        for event in result.get_step_failure_events():
            error = event.step_failure_data.error
            if error is None or error.cls_name == "DagsterAssetCheckFailedError":
                continue  # already reported through its check evaluations
            user = event.step_failure_data.user_failure_data
            if user and BLOCKED_SHRINK in (user.metadata or {}):
                report.blocked.append(f"step {event.step_key}: {user.description or error.message.strip()}")
                report.errors.append(report.blocked[-1])
                continue
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
                    + (f"; {meta['rows_held_back']} held back after it" if meta.get("rows_held_back") else "")
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
            if self.postgres and self.postgres.get("postgres_configured"):
                lines.append(f"PUBLISHED {self.postgres.get('tables_published')} tables to PostgreSQL "
                             f"{self.postgres.get('target')}, schemas {self.postgres.get('schema')}")
            lines.append(f"  query it:  {query_hint(settings.serving_db)}  (schemas analytics and ops)")
            lines.append("  the UI:    make dev (DEV_PORT=3000), then open http://127.0.0.1:3000")
        else:
            lines.append(f"NOT PUBLISHED: the serving copies ({settings.serving_db}, and PostgreSQL when configured) "
                         "were left as they were.")
            if self.failed_checks:
                lines.append("failing checks:")
                lines += [f"  - {c}" for c in self.failed_checks]
        lines += [f"BLOCKED {b}" for b in self.blocked]
        failed = [e for e in self.errors if e not in self.blocked]
        if failed:
            lines.append("failed steps:")
            lines += [f"  - {e}" for e in failed]
        if self.warnings:
            lines.append("warnings (reported, not blocking):")
            lines += [f"  - {w}" for w in self.warnings]
        if self.failed_checks or self.warnings:
            lines.append(f"  Data Docs: {settings.quality_docs / 'index.html'}")
        if self.timings:
            parts = [f"{stage} {self.timings[stage]:.1f} s" for stage, _ in STAGES if stage in self.timings]
            build, gates = self.timings.get("dbt build"), self.timings.get("gates")
            share = f" (gates = {gates / build:.0%} of dbt build)" if build and gates else ""
            lines.append("timings: " + ", ".join(parts) + share)
        return "\n".join(lines)


def _plain_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in metadata.items()}
