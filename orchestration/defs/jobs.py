"""Jobs and schedules."""


import dagster as dg

FULL_REFRESH_JOB = "ndc_full_refresh"
NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Shanghai"

full_refresh = dg.define_asset_job(
    FULL_REFRESH_JOB,
    selection=dg.AssetSelection.all(),
    description="Land every delivery, build every model, run every gate and publish when all pass.",
    # One DuckDB writer: steps run one after another in one process.
    executor_def=dg.in_process_executor,
)

nightly = dg.ScheduleDefinition(
    name="nightly_refresh",
    job=full_refresh,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=NIGHTLY_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 China Standard Time, after the reporting system's day closes.",
)


def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[full_refresh], schedules=[nightly])
