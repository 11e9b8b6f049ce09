"""Jobs, the nightly schedule and the landing sensor."""


import hashlib

import dagster as dg

from ingestion.landing import RawStore, pending_deliveries
from orchestration.resources import NdcResource
from orchestration.settings import Settings

FULL_REFRESH_JOB = "ndc_full_refresh"
NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Shanghai"

# The run tag the Dagster service's run queue limits to one run per value (orchestration/deploy/dagster.yaml): one writer per
# warehouse, whichever way a run starts (schedule, sensor, the UI, `ndc run`).
WAREHOUSE_TAG = "ndc/warehouse"


def warehouse_tags(settings: Settings) -> dict[str, str]:
    """The tags of every run that writes the warehouse under `settings.home`."""
    return {WAREHOUSE_TAG: settings.home.as_posix()}


def full_refresh_job(settings: Settings):
    return dg.define_asset_job(
        FULL_REFRESH_JOB,
        selection=dg.AssetSelection.all(),
        description="Land every delivery, build every model, run every gate and publish when all pass.",
        # One DuckDB writer: steps run one after another in one process.
        executor_def=dg.in_process_executor,
        tags=warehouse_tags(settings),
    )


nightly = dg.ScheduleDefinition(
    name="nightly_refresh",
    job_name=FULL_REFRESH_JOB,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=NIGHTLY_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 China Standard Time, after the reporting system's day closes.",
)


@dg.sensor(
    name="landing_sensor",
    job_name=FULL_REFRESH_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a refresh when a province drops a new or changed file into $NDC_HOME/landing/.",
)
def landing_sensor(context: dg.SensorEvaluationContext, ndc: NdcResource):
    settings = ndc.settings
    pending = pending_deliveries(settings.landing, RawStore(settings.raw))
    if not pending:
        return dg.SkipReason(f"no new or changed deliveries in {settings.landing}")
    # The same files as they are now give the same run key, so one drop starts one run.
    run_key = hashlib.sha256("\n".join(f"{s}|{size}|{mtime}" for s, size, mtime in sorted(pending)).encode()).hexdigest()
    return dg.RunRequest(
        run_key=run_key,
        tags={"ndc/trigger": "landing", "ndc/deliveries": str(len(pending))},
    )


def defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=[full_refresh_job(settings)], schedules=[nightly], sensors=[landing_sensor])
