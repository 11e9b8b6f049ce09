"""The quarterly flash reports' calendar: each quarter's filing deadline, and the schedule that lands and rebuilds
after it.

No official deadline for a quarterly report was found (docs/ingestion.md): the default, 20 days after the quarter's
end (ingestion/periods.py), is this project's choice, and `NDC_QUARTERLY_DEADLINE_DAYS` (Settings) changes it. The
schedule runs at 02:00 China Standard Time on the day after the deadline and requests the landing job over every
year; the landing's success starts the rebuild of the years it touched (`rebuild_touched_years`), as every night
does. Quarterly reports carry their year as `period`, so a quarter is rebuilt with its year's partition (the Dagster
partitions stay yearly); the run is tagged `ndc/quarter` with the quarter that closed.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from orchestration.partitions import all_years_tags

def quarterly_cron(days: int) -> str:
    """02:00 on the day after the deadline, in the months after each quarter (January for the fourth)."""
    return f"0 2 {days + 1} 1,4,7,10 *"


def quarter_closed(on: dt.date) -> str:
    """The quarter whose deadline was the day before `on` (a scheduled run's date)."""
    previous = on.replace(day=1) - dt.timedelta(days=1)
    return f"{previous.year}Q{(previous.month - 1) // 3 + 1}"


def quarterly_schedule(job_name: str, timezone: str, days: int) -> dg.ScheduleDefinition:
    def request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        on = context.scheduled_execution_time.date()
        return dg.RunRequest(tags={**all_years_tags(), "ndc/trigger": "quarterly", "ndc/quarter": quarter_closed(on)})

    return dg.ScheduleDefinition(
        name="quarterly_deadline",
        job_name=job_name,
        cron_schedule=quarterly_cron(days),
        execution_timezone=timezone,
        execution_fn=request,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"02:00 China Standard Time the day after each quarter's filing deadline ({days} days after the "
        f"quarter's end; NDC_QUARTERLY_DEADLINE_DAYS): land the quarter's flash reports; their years are rebuilt next.",
    )
