"""The quarterly filing deadline and the schedule after it (orchestration/quarterly.py)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from orchestration.quarterly import (
    deadline,
    deadline_days,
    quarter_closed,
    quarterly_cron,
    quarterly_schedule,
    reporting_quarters,
)


def test_the_deadline_is_20_days_after_the_quarter_unless_configured():
    assert deadline_days({}) == 20
    assert deadline(2023, 1) == dt.date(2023, 4, 20)
    assert deadline(2023, 4) == dt.date(2024, 1, 20)
    assert deadline_days({"NDC_QUARTERLY_DEADLINE_DAYS": "15"}) == 15
    for wrong in ("0", "28", "twenty", "-3"):
        with pytest.raises(ValueError, match="NDC_QUARTERLY_DEADLINE_DAYS"):
            deadline_days({"NDC_QUARTERLY_DEADLINE_DAYS": wrong})


def test_a_quarter_is_due_once_its_deadline_has_passed():
    assert reporting_quarters(dt.date(2019, 4, 20))[-1:] == []
    assert reporting_quarters(dt.date(2019, 4, 21)) == ["2019Q1"]
    assert reporting_quarters(dt.date(2024, 1, 21))[-1] == "2023Q4"
    assert reporting_quarters(dt.date(2024, 1, 20))[-1] == "2023Q3"


def test_the_schedule_runs_the_day_after_each_deadline_and_names_the_quarter():
    assert quarterly_cron(20) == "0 2 21 1,4,7,10 *"
    assert quarter_closed(dt.date(2024, 1, 21), 20) == "2023Q4"
    assert quarter_closed(dt.date(2024, 7, 21), 20) == "2024Q2"
    schedule = quarterly_schedule("ndc_land", "Asia/Shanghai", 20)
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 10, 21, 2, 0))
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["ndc/quarter"] == "2024Q3" and request.tags["ndc/trigger"] == "quarterly"
