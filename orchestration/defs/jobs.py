"""Jobs, the nightly and quarterly schedules, the sensors that chain landing to a rebuild of the years it touched,
and the run-failure summary.

The nightly chain: at 02:00 China Standard Time `nightly_refresh` runs `ndc_land` (every pending API page and file
drop lands, whatever its year). When that run succeeds, `rebuild_touched_years` reads the periods the landing
changed (`periods_touched` on each raw asset) and requests one `ndc_full_refresh` run over those years, corrected
earlier years included. `landing_sensor` starts the same chain when a province drops a file during the day.

Dagster runs one partitions definition per job, so the quarterly models (partitioned by quarter) are not assets of
`ndc_full_refresh` (by year): its dbt step builds them with everything else and records every quarter of them
(orchestration/defs/dbt.py), and their gates are in it. `ndc_quarter` builds, gates and publishes them for one
quarter, after its filing deadline (orchestration/quarterly.py).
"""


import hashlib

import dagster as dg

from ingestion.durable import write_text_atomically
from ingestion.landing import RawStore, pending_deliveries
from orchestration.defs.dbt import quarterly_models
from orchestration.defs.ingestion import landing_assets
from orchestration.failures import failure_summary, touched_years_of_run
from orchestration.partitions import all_years_tags, covering_range, range_tags
from orchestration.quarterly import quarterly_schedule
from orchestration.resources import NdcResource
from orchestration.settings import Settings

FULL_REFRESH_JOB = "ndc_full_refresh"
LAND_JOB = "ndc_land"
QUARTER_JOB = "ndc_quarter"
NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Asia/Shanghai"

# The run tag the Dagster service's run queue limits to one run per value (orchestration/deploy/dagster.yaml): one
# writer per warehouse, whichever way a run starts (schedule, sensors, the UI, `ndc run`).
WAREHOUSE_TAG = "ndc/warehouse"


def warehouse_tags(settings: Settings) -> dict[str, str]:
    """The tags of every run that writes the warehouse under `settings.home`."""
    return {WAREHOUSE_TAG: settings.home.as_posix()}


def full_refresh_selection() -> dg.AssetSelection:
    """Every asset but the quarterly models, which its dbt step builds all the same; with the gates on them (not
    their `dbt_tests` checks, which belong to their own dbt step: dbt runs those tests in the build)."""
    quarterly = quarterly_models()
    gates = dg.AssetSelection.checks_for_assets(*quarterly.keys) - dg.AssetSelection.checks(*quarterly.check_keys)
    return (dg.AssetSelection.all() - dg.AssetSelection.assets(*quarterly.keys)) | gates


def quarter_selection() -> dg.AssetSelection:
    """The quarterly models with their checks, and what follows them: the gates, publication and the report."""
    return dg.AssetSelection.assets(*quarterly_models().keys).downstream()


def warehouse_job(settings: Settings, name: str, selection: dg.AssetSelection, description: str):
    """A job whose runs write the warehouse under `settings.home` (the raw layer, the build database, the serving
    copies): its steps run one after another in one process, as one DuckDB writer."""
    return dg.define_asset_job(name, selection=selection, description=description,
                               executor_def=dg.in_process_executor, tags=warehouse_tags(settings))


def full_refresh_job(settings: Settings):
    return warehouse_job(
        settings, FULL_REFRESH_JOB, full_refresh_selection(),
        "Land every delivery, build every model, run every gate and publish when all pass. Partitioned by reporting "
        "year: the incremental facts rebuild only the run's years (every year for `ndc run`). Its dbt step also "
        "rebuilds the quarterly models, and records every quarter of them.",
    )


def land_job(settings: Settings):
    return warehouse_job(
        settings, LAND_JOB, landing_assets().without_checks(),
        "Land every pending API page and file drop into the raw layer (all years: a delivery can correct earlier "
        "years). Its success starts the rebuild of the years it touched (sensor rebuild_touched_years).",
    )


def quarter_job(settings: Settings):
    return warehouse_job(
        settings, QUARTER_JOB, quarter_selection(),
        "Build, gate and publish the quarterly flash reports' models for a quarter (run by the schedule "
        "quarterly_deadline after the quarter's filing deadline). The models are rebuilt whole; the run marks its "
        "quarter materialized with that quarter's rows.",
    )


@dg.schedule(
    name="nightly_refresh",
    job_name=LAND_JOB,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=NIGHTLY_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 China Standard Time, after the reporting system's day closes: pull the day's API deliveries "
    "and land pending file drops; the years they touch are rebuilt next (rebuild_touched_years).",
)
def nightly_refresh(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(tags={**all_years_tags(), "ndc/trigger": "nightly"})


@dg.sensor(
    name="landing_sensor",
    job_name=LAND_JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lands a province's new or changed file in $NDC_HOME/landing/ as it arrives; the years it touches "
    "are rebuilt next (rebuild_touched_years).",
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
        tags={**all_years_tags(), "ndc/trigger": "landing", "ndc/deliveries": str(len(pending))},
    )


def rebuild_touched_years(land, full_refresh) -> dg.SensorDefinition:
    """The sensor that follows a successful landing run with one rebuild of the years it touched."""

    @dg.run_status_sensor(
        name="rebuild_touched_years",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[land],
        request_job=full_refresh,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a landing run, one run over the reporting years whose raw rows it changed.",
    )
    def _rebuild(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        touched = touched_years_of_run(context.instance, run.run_id)
        if not touched:
            return dg.SkipReason(f"landing run {run.run_id} changed no reporting year")
        # Years outside the partitions (a filing for a year the reference does not cover) need every year's run.
        first, last = covering_range(touched) or (None, None)
        tags = range_tags(first, last) if first else all_years_tags()
        return dg.RunRequest(
            run_key=f"rebuild-{run.run_id}",
            tags={**tags, "ndc/trigger": "landed", "ndc/periods": ",".join(map(str, touched)), "ndc/land_run": run.run_id},
        )

    return _rebuild


@dg.run_failure_sensor(
    name="run_failure_summary",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes $NDC_HOME/reports/failures/<run id>.txt for a failed run: the failing steps and checks.",
)
def run_failure_summary(context: dg.RunFailureSensorContext, ndc: NdcResource):
    run = context.dagster_run
    text = failure_summary(context.instance, run)
    target = ndc.settings.home / "reports" / "failures" / f"{run.run_id}.txt"
    write_text_atomically(target, text + "\n")
    context.log.error(text)


def defs(settings: Settings) -> dg.Definitions:
    full_refresh, land, quarter = full_refresh_job(settings), land_job(settings), quarter_job(settings)
    return dg.Definitions(
        jobs=[full_refresh, land, quarter],
        schedules=[nightly_refresh,
                   quarterly_schedule(QUARTER_JOB, NIGHTLY_TIMEZONE, settings.quarterly_deadline_days)],
        sensors=[landing_sensor, rebuild_touched_years(land, full_refresh), run_failure_summary],
    )
