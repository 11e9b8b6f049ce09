"""The quarterly filing deadline and the schedule after it (orchestration/quarterly.py)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from ingestion.periods import parse_deadline_days
from orchestration.quarterly import (
    quarter_closed,
    quarterly_cron,
    quarterly_schedule,
)
from orchestration.settings import Settings


def test_the_deadline_is_20_days_after_the_quarter_unless_configured():
    assert Settings.from_env({}).quarterly_deadline_days == 20
    assert Settings.from_env({"NDC_QUARTERLY_DEADLINE_DAYS": "15"}).quarterly_deadline_days == 15
    for wrong in ("0", "28", "twenty", "-3"):
        with pytest.raises(ValueError, match="NDC_QUARTERLY_DEADLINE_DAYS"):
            parse_deadline_days(wrong)


def test_the_schedule_runs_the_day_after_each_deadline_and_names_the_quarter():
    assert quarterly_cron(20) == "0 2 21 1,4,7,10 *"
    assert quarter_closed(dt.date(2024, 1, 21)) == "2023Q4"
    assert quarter_closed(dt.date(2024, 7, 21)) == "2024Q2"
    schedule = quarterly_schedule("ndc_land", "Asia/Shanghai", 20)
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 10, 21, 2, 0))
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["ndc/quarter"] == "2024Q3" and request.tags["ndc/trigger"] == "quarterly"
