"""The quarterly flash reports' calendar: reporting quarters as partition keys, and the schedule that lands and
rebuilds after each quarter's filing deadline.

No official deadline for a quarterly report was found (docs/ingestion.md): the default, 20 days after the quarter's
end, is this project's choice, and `NDC_QUARTERLY_DEADLINE_DAYS` changes it. The schedule runs at 02:00 China
Standard Time on the day after the deadline and requests the landing job over every year; the landing's success
starts the rebuild of the years it touched (`rebuild_touched_years`), as every night does. Quarterly reports carry
their year as `period`, so a quarter is rebuilt with its year's partition (the Dagster partitions stay yearly); the
run is tagged `ndc/quarter` with the quarter that closed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

import dagster as dg

from orchestration.partitions import FIRST_YEAR, all_years_tags

DEADLINE_ENV = "NDC_QUARTERLY_DEADLINE_DAYS"
DEFAULT_DEADLINE_DAYS = 20
# The schedule's day of the month is the deadline's next day; a deadline later than 27 days would fall in another
# month in some quarters, so it is refused rather than guessed.
MAX_DEADLINE_DAYS = 27
QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def deadline_days(environ: Mapping[str, str] = os.environ) -> int:
    text = (environ.get(DEADLINE_ENV) or "").strip()
    if not text:
        return DEFAULT_DEADLINE_DAYS
    if not text.isdigit() or not 1 <= int(text) <= MAX_DEADLINE_DAYS:
        raise ValueError(f"{DEADLINE_ENV}={text!r}: a whole number of days from 1 to {MAX_DEADLINE_DAYS}")
    return int(text)


def deadline(year: int, quarter: int, days: int = DEFAULT_DEADLINE_DAYS) -> dt.date:
    """The day a quarter's reports are due: `days` after its last day."""
    month, day = QUARTER_END[quarter]
    return dt.date(year, month, day) + dt.timedelta(days=days)


def reporting_quarters(today: dt.date | None = None, days: int = DEFAULT_DEADLINE_DAYS) -> list[str]:
    """'2019Q1' up to the last quarter whose deadline is before `today`."""
    today = today or dt.date.today()
    return [f"{year}Q{quarter}" for year in range(FIRST_YEAR, today.year + 1) for quarter in range(1, 5)
            if deadline(year, quarter, days) < today]


def quarterly_cron(days: int) -> str:
    """02:00 on the day after the deadline, in the months after each quarter (January for the fourth)."""
    return f"0 2 {days + 1} 1,4,7,10 *"


def quarter_closed(on: dt.date, days: int) -> str:
    """The quarter whose deadline was the day before `on` (a scheduled run's date)."""
    previous = on.replace(day=1) - dt.timedelta(days=1)
    return f"{previous.year}Q{(previous.month - 1) // 3 + 1}"


def quarterly_schedule(job_name: str, timezone: str, days: int | None = None) -> dg.ScheduleDefinition:
    days = deadline_days() if days is None else days

    def request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        on = context.scheduled_execution_time.date()
        return dg.RunRequest(tags={**all_years_tags(), "ndc/trigger": "quarterly", "ndc/quarter": quarter_closed(on, days)})

    return dg.ScheduleDefinition(
        name="quarterly_deadline",
        job_name=job_name,
        cron_schedule=quarterly_cron(days),
        execution_timezone=timezone,
        execution_fn=request,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"02:00 China Standard Time the day after each quarter's filing deadline ({days} days after the "
        f"quarter's end; {DEADLINE_ENV}): land the quarter's flash reports; their years are rebuilt next.",
    )
