"""The quarterly flash reports' calendar: each quarter's filing deadline, and the schedule that builds the quarter
after it.

No official deadline for a quarterly report was found (docs/ingestion.md): the default, 20 days after the quarter's
end (ingestion/periods.py), is this project's choice, and `NDC_QUARTERLY_DEADLINE_DAYS` (Settings) changes it.

The quarterly models (dbt tag `quarterly`: their staging, intermediate, fact and marts) are their own Dagster assets,
partitioned by quarter ("2019-Q1" to the last quarter that has ended, orchestration/partitions.py), and each quarter
reads its year of the raw assets. At 04:00 China Standard Time on the day after the deadline, after the night's
landing (02:00, `nightly_refresh`) took the last reports filed on time, the schedule requests one run of the job
`ndc_quarter` for exactly the quarter that closed. That run:
- rebuilds the seven quarterly models whole from the raw layer: they are tables and views, not incremental, and a
  quarter's single-quarter figures come from the previous quarter's year-to-date, its growth from the same quarter a
  year before, and a late correction to an earlier quarter changes the next one's;
- runs their dbt tests and Great Expectations gates, then publishes (every table, as any publication does) and
  rebuilds the report;
- marks only its quarter materialized, with that quarter's own row count.

`ndc run` and the nightly rebuild (job `ndc_full_refresh`, by year) build the quarterly models too, in their one
`dbt build` with every other model, and record every quarter of them as materialized (orchestration/defs/dbt.py).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from orchestration.partitions import quarter_key

# After the nightly landing (02:00) and the rebuild it starts.
QUARTERLY_HOUR = 4


def quarterly_cron(days: int) -> str:
    """04:00 on the day after the deadline, in the months after each quarter (January for the fourth)."""
    return f"0 {QUARTERLY_HOUR} {days + 1} 1,4,7,10 *"


def quarter_closed(on: dt.date) -> str:
    """The partition key of the quarter whose deadline was the day before `on` (a scheduled run's date): the quarter
    that ended before `on`'s month."""
    previous = on.replace(day=1) - dt.timedelta(days=1)
    return quarter_key(previous.year, (previous.month - 1) // 3 + 1)


def quarterly_schedule(job_name: str, timezone: str, days: int) -> dg.ScheduleDefinition:
    def request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        quarter = quarter_closed(context.scheduled_execution_time.date())
        return dg.RunRequest(partition_key=quarter, tags={"ndc/trigger": "quarterly", "ndc/quarter": quarter})

    return dg.ScheduleDefinition(
        name="quarterly_deadline",
        job_name=job_name,
        cron_schedule=quarterly_cron(days),
        execution_timezone=timezone,
        execution_fn=request,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"04:00 China Standard Time the day after each quarter's filing deadline ({days} days after the "
        f"quarter's end; NDC_QUARTERLY_DEADLINE_DAYS), after the night's landing: build, gate and publish the quarter "
        "that closed (its partition of the quarterly models).",
    )
