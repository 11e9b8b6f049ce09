"""The zone green account on the generated sample: every zone report has an account, the zone evaluation's green
indicators are the account's values, and the regional roll-up adds up."""

from __future__ import annotations

import pytest

from tests.dbt.test_warehouse import query
from tests.support import PublishedSample

pytestmark = pytest.mark.slow

# The zone evaluation's green indicators and the account column each one reads (macro zone_indicators).
GREEN_INDICATORS = {"energy_per_gdp": "energy_intensity_tce_per_10k_yuan", "co2_growth": "co2_growth",
                    "green_ratio": "green_ratio"}


def test_every_zone_that_filed_has_a_complete_green_account(published_sample: PublishedSample):
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    missing = query(serving, "SELECT f.zone_code, f.period FROM analytics.fct_zone_annual f "
                             "LEFT JOIN analytics.mart_zone_green_account g USING (zone_code, period) "
                             "WHERE g.zone_code IS NULL")
    assert missing == []
    (rows, with_co2, fallback_2020, certainties), = query(
        serving, "SELECT count(*), count(co2_t), count(*) FILTER (WHERE period = 2020 AND electricity_factor_fallback), "
                 "list(DISTINCT factor_certainty) FROM analytics.mart_zone_green_account")
    assert rows == with_co2 > 0  # the generator files every carrier
    # The fuel factors are all U, and 2020 has no published grid factor: such rows say so.
    assert certainties == ["U"]
    (zones_2020,), = query(serving, "SELECT count(*) FROM analytics.mart_zone_green_account WHERE period = 2020")
    assert fallback_2020 == zones_2020


@pytest.mark.parametrize("indicator", GREEN_INDICATORS)
def test_the_zone_evaluation_green_indicators_equal_the_green_account(published_sample: PublishedSample, indicator):
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    column = GREEN_INDICATORS[indicator]
    compared, differing = query(
        serving,
        f"SELECT count(*), count(*) FILTER (WHERE s.value IS DISTINCT FROM CAST(g.{column} AS DOUBLE)) "
        "FROM analytics.mart_zone_indicator_scores s JOIN analytics.mart_zone_green_account g USING (zone_code, period) "
        "WHERE s.indicator_key = ?", [indicator])[0]
    assert compared > 0 and differing == 0


def test_the_national_roll_up_is_the_sum_of_the_zones_with_an_account(published_sample: PublishedSample):
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    rows = query(serving, """
        WITH zones AS (
            SELECT period, count(*) AS zones, sum(co2_t) AS co2_t, sum(value_added) AS value_added
            FROM analytics.mart_zone_green_account
            WHERE energy_tce IS NOT NULL AND co2_t IS NOT NULL AND value_added > 0 GROUP BY period)
        SELECT r.period, r.zones_with_account, z.zones, r.co2_t, z.co2_t, r.value_added, z.value_added,
               r.co2_intensity_t_per_10k_yuan, round(z.co2_t * 10 / z.value_added, 6)
        FROM analytics.mart_region_green_account r JOIN zones z USING (period) WHERE r.region = '全国'""")
    assert rows
    for period, accounted, zones, co2, zone_co2, value_added, zone_value_added, intensity, expected in rows:
        assert accounted == zones and value_added == zone_value_added, period
        assert co2 == pytest.approx(zone_co2, abs=0.01) and intensity == pytest.approx(expected, abs=1e-6), period
    regions = query(serving, "SELECT period, sum(zones_with_account) FILTER (WHERE region <> '全国'), "
                             "max(zones_with_account) FILTER (WHERE region = '全国') "
                             "FROM analytics.mart_region_green_account GROUP BY period")
    assert all(parts == total for _, parts, total in regions)
