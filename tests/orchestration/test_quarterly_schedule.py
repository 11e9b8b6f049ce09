"""The quarterly flash reports' quarter partitions, the filing deadline and the schedule after it
(orchestration/quarterly.py, orchestration/partitions.py)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.jobs import FULL_REFRESH_JOB, QUARTER_JOB
from orchestration.partitions import (
    QUARTER_TO_YEAR,
    QUARTERS,
    YEARS,
    quarter_to_year,
    reporting_quarters,
    run_years,
)
from orchestration.quarterly import quarter_closed, quarterly_cron, quarterly_schedule
from orchestration.settings import Settings
from tests.support import QUARTERLY_MODELS


def test_the_deadline_is_20_days_after_the_quarter_unless_configured():
    assert Settings.from_env({}).quarterly_deadline_days == 20
    assert Settings.from_env({"NDC_QUARTERLY_DEADLINE_DAYS": "15"}).quarterly_deadline_days == 15
    for wrong in ("0", "28", "twenty", "-3"):
        with pytest.raises(ValueError, match="NDC_QUARTERLY_DEADLINE_DAYS"):
            Settings.from_env({"NDC_QUARTERLY_DEADLINE_DAYS": wrong})


def test_quarters_run_from_2019_to_the_last_quarter_that_has_ended():
    assert reporting_quarters(dt.date(2019, 4, 1)) == ["2019-Q1"]
    assert reporting_quarters(dt.date(2019, 3, 31)) == []
    keys = reporting_quarters(dt.date(2026, 12, 6))
    assert keys[:5] == ["2019-Q1", "2019-Q2", "2019-Q3", "2019-Q4", "2020-Q1"]
    assert keys[-1] == "2026-Q3" and len(keys) == 7 * 4 + 3
    assert reporting_quarters(dt.date(2027, 1, 1))[-1] == "2026-Q4"
    assert QUARTERS.get_partition_keys() == reporting_quarters()


def test_a_quarter_maps_to_its_year_of_the_raw_assets():
    mapping = quarter_to_year(reporting_quarters(dt.date(2026, 12, 6)), [str(y) for y in range(2019, 2026)])
    quarters = dg.StaticPartitionsDefinition(reporting_quarters(dt.date(2026, 12, 6)))
    years = dg.StaticPartitionsDefinition([str(y) for y in range(2019, 2026)])

    def upstream(*keys: str) -> set[str]:
        result = mapping.get_upstream_mapped_partitions_result_for_partitions(
            quarters.empty_subset().with_partition_keys(keys), quarters, years)
        return set(result.partitions_subset.get_partition_keys())

    assert upstream("2023-Q3") == {"2023"}
    assert upstream("2022-Q4", "2023-Q1") == {"2022", "2023"}
    assert upstream("2026-Q1") == set()  # the running year has no year partition yet
    downstream = mapping.get_downstream_partitions_for_partitions(years.empty_subset().with_partition_keys(["2022"]),
                                                                   years, quarters)
    assert set(downstream.get_partition_keys()) == {"2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4"}


def test_the_quarterly_models_are_partitioned_by_quarter_and_read_their_year_of_raw():
    graph = defs.resolve_asset_graph()
    assert {n.key.to_user_string() for n in graph.asset_nodes if n.partitions_def == QUARTERS} == QUARTERLY_MODELS
    for channel in ("files", "api"):
        staging = graph.get(dg.AssetKey(["staging", f"stg_{channel}__quarterly"]))
        raw = dg.AssetKey(["raw", f"quarterly_{channel}"])
        assert raw in staging.parent_keys and graph.get(raw).partitions_def == YEARS
        assert staging.partition_mappings[raw] == QUARTER_TO_YEAR


def test_the_quarter_job_builds_gates_and_publishes_the_quarterly_models_by_quarter():
    job = defs.resolve_job_def(QUARTER_JOB)
    assert job.partitions_def == QUARTERS
    assets = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert assets == QUARTERLY_MODELS | {"published/serving_duckdb", "published/serving_postgres",
                                         "published/evaluation_report"}
    checks = {(c.asset_key.to_user_string(), c.name) for c in job.asset_layer.asset_graph.asset_check_keys}
    assert ("analytics/fct_quarterly_report", "gx_fct_quarterly_report") in checks
    assert ("analytics/fct_quarterly_report", "dbt_tests") in checks
    # A quarter's run restricts no year of the gates (the quarterly models are rebuilt whole).
    assert run_years({"dagster/partition": "2024-Q3"}) == (None, None)


def test_ndc_run_keeps_every_year_and_the_gates_on_the_quarterly_models():
    """`ndc run`'s job cannot hold the quarterly assets (one partitions definition per job): its dbt step builds
    them, and their Great Expectations gates stay in it, before publication."""
    job = defs.resolve_job_def(FULL_REFRESH_JOB)
    assert job.partitions_def == YEARS
    assets = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert not assets & QUARTERLY_MODELS
    assert {"analytics/fct_enterprise_annual", "published/serving_duckdb", "raw/quarterly_files"} <= assets
    checks = {(c.asset_key.to_user_string(), c.name) for c in job.asset_layer.asset_graph.asset_check_keys}
    assert ("analytics/mart_quarterly_zone_economy", "gx_mart_quarterly_zone_economy") in checks
    assert not {c for c in checks if c[0] in QUARTERLY_MODELS and c[1] == "dbt_tests"}


def test_the_schedule_runs_the_day_after_each_deadline_for_the_quarter_that_closed():
    assert quarterly_cron(20) == "0 4 21 1,4,7,10 *"
    assert quarter_closed(dt.date(2024, 1, 21)) == "2023-Q4"
    assert quarter_closed(dt.date(2024, 7, 21)) == "2024-Q2"
    schedule = next(s for s in defs.schedules if s.name == "quarterly_deadline")
    assert schedule.job_name == QUARTER_JOB
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 4 21 1,4,7,10 *", "Asia/Shanghai")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2024, 10, 21, 4, 0),
                                        repository_def=defs.get_repository_def())
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-Q3"
    assert request.tags["ndc/quarter"] == "2024-Q3" and request.tags["ndc/trigger"] == "quarterly"
    # A configured deadline moves the day, not the quarter.
    assert quarterly_schedule(QUARTER_JOB, "Asia/Shanghai", 15).cron_schedule == "0 4 16 1,4,7,10 *"
