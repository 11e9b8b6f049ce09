"""What the sensors read back from a finished run in the Dagster instance: the years a landing touched, and the
summary of a failed run (the failing steps and checks, in the words the operator acts on)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from orchestration.partitions import run_years

PUBLISHED = dg.AssetKey(["published", "serving_duckdb"])
DESCRIPTION_LINES = 6  # of a failed check's description: enough to name the expectation and a few rows


def _events(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> list[Any]:
    return [entry.dagster_event for entry in instance.all_logs(run_id, of_type=event_type) if entry.dagster_event]


def touched_years_of_run(instance: dg.DagsterInstance, run_id: str) -> list[int]:
    """The periods whose raw rows a run changed, from its raw assets' `periods_touched` metadata."""
    years: set[int] = set()
    for event in _events(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION):
        value = event.event_specific_data.materialization.metadata.get("periods_touched")
        years.update(int(y) for y in (getattr(value, "value", value) or []))
    return sorted(years)


def failure_summary(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """A few lines naming what failed in a run: each failed step with its error, and each failed check."""
    first, last = run_years(dict(run.tags))
    years = f", years {first}-{last}" if first else ""
    lines = [f"run {run.run_id} of job {run.job_name} FAILED{years} (trigger: {run.tags.get('ndc/trigger', 'manual')})"]

    failed_checks: dict[tuple[str, str, bool], list[str]] = {}
    for event in _events(instance, run.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = event.event_specific_data
        if evaluation.passed:
            continue
        blocking = evaluation.severity == dg.AssetCheckSeverity.ERROR
        key = (evaluation.check_name, evaluation.description or "", blocking)
        failed_checks.setdefault(key, []).append(evaluation.asset_key.to_user_string())

    steps = []
    for event in _events(instance, run.run_id, dg.DagsterEventType.STEP_FAILURE):
        error = event.step_failure_data.error
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            steps.append(f"  - {event.step_key}: a blocking check failed (below)")
            continue
        message = (error.message.strip().splitlines() or [""])[0] if error else "failed"
        cause = error.cause.message.strip().splitlines()[0] if error and error.cause and error.cause.message else ""
        steps.append(f"  - {event.step_key}: {message}" + (f" ({cause})" if cause else ""))
    if steps:
        lines += ["failed steps:", *steps]

    for title, blocking in (("failing checks (blocking):", True), ("warnings:", False)):
        entries = [(k, v) for k, v in failed_checks.items() if k[2] == blocking]
        if entries:
            lines.append(title)
        for (check, description, _), assets in entries:
            lines.append(f"  - {', '.join(assets)}: {check}")
            lines += [f"      {line.strip()}" for line in description.splitlines()[:DESCRIPTION_LINES] if line.strip()]

    published = any(
        event.event_specific_data.materialization.asset_key == PUBLISHED
        for event in _events(instance, run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    )
    lines.append("the serving copies were published before the failure" if published
                 else "nothing was published: the serving copies are as they were")
    return "\n".join(lines)
