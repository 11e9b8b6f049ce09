"""What the sensors read back from a finished run in the Dagster instance: the years a landing touched, and the
summary of a failed run (the failing steps and checks, in the words the operator acts on)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from orchestration.partitions import run_partitions
from orchestration.run_report import failed_checks

PUBLISHED = dg.AssetKey(["published", "serving_duckdb"])


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
    first, last = run_partitions(dict(run.tags))
    years = (f", years {first}-{last}" if first.isdigit() else f", quarters {first}-{last}") if first else ""
    lines = [f"run {run.run_id} of job {run.job_name} FAILED{years} (trigger: {run.tags.get('ndc/trigger', 'manual')})"]

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

    evaluations = [e.event_specific_data for e in
                   _events(instance, run.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
    blocking, warnings = failed_checks(evaluations)
    for title, entries in (("failing checks (blocking):", blocking), ("warnings:", warnings)):
        if entries:
            lines.append(title)
            lines += ["  - " + entry.replace("\n", "\n    ") for entry in entries]

    published = any(
        event.event_specific_data.materialization.asset_key == PUBLISHED
        for event in _events(instance, run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    )
    lines.append("the serving copies were published before the failure" if published
                 else "nothing was published: the serving copies are as they were")
    return "\n".join(lines)
