"""The quarterly flash reports on the generated sample, through the real `ndc` command: every quarter of every
generated year is in the marts, and a reporter's single quarters add up to its fourth quarter's year-to-date figure.
The hand-computed cases (a reporter leaving, one joining, a correction to an earlier quarter) are dbt unit tests
of int_quarterly__latest_filings, int_quarterly__reports and mart_quarterly_zone_economy."""

from __future__ import annotations

import pytest

from tests.dbt.test_warehouse import query
from tests.support import SAMPLE_YEARS, PublishedSample

pytestmark = pytest.mark.slow

QUARTERLY_MARTS = ("mart_quarterly_zone_economy", "mart_quarterly_region_economy")


def test_every_quarter_of_every_generated_year_is_published(published_sample: PublishedSample):
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    expected = {(year, quarter) for year in SAMPLE_YEARS for quarter in range(1, 5)}
    for mart in ("fct_quarterly_report", *QUARTERLY_MARTS):
        assert set(query(serving, f"SELECT DISTINCT period, quarter FROM analytics.{mart}")) == expected, mart
    # The nation and every region with zones have each quarter.
    regions = query(serving, "SELECT region, count(DISTINCT (period, quarter)) FROM analytics.mart_quarterly_region_economy "
                             "GROUP BY region")
    assert {"全国", "东部", "中部", "西部", "东北"} <= {r for r, _ in regions}
    assert all(n == len(expected) for _, n in regions)


def test_single_quarters_add_up_to_the_fourth_quarter(published_sample: PublishedSample):
    build = published_sample.settings.build_db
    rows = query(build, """
        SELECT reporter_id, period, sum(revenue_q) AS quarters, max(revenue_ytd) FILTER (quarter = 4) AS q4,
               sum(rd_expense_q) AS rd_quarters, max(rd_expense_ytd) FILTER (quarter = 4) AS rd_q4
        FROM intermediate.int_quarterly__reports
        GROUP BY reporter_type, reporter_id, period HAVING count(*) = 4""")
    assert len(rows) > 100
    assert all(quarters == q4 and rd == rd_q4 for _, _, quarters, q4, rd, rd_q4 in rows)


def test_zone_growth_is_over_the_comparable_panel(published_sample: PublishedSample):
    """Recomputed from the reports: a zone's growth is its comparable reporters' totals, not its published levels."""
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    build = published_sample.settings.build_db
    published = dict(((z, p, q), g) for z, p, q, g in query(serving, """
        SELECT zone_code, period, quarter, revenue_yoy_comparable FROM analytics.mart_quarterly_zone_economy
        WHERE revenue_yoy_comparable IS NOT NULL"""))
    recomputed = query(build, """
        SELECT now.zone_code, now.period, now.quarter, sum(now.revenue_ytd) / sum(before.revenue_ytd) - 1
        FROM intermediate.int_quarterly__reports now
        JOIN intermediate.int_quarterly__reports before ON before.reporter_id = now.reporter_id
         AND before.reporter_type = now.reporter_type AND before.period = now.period - 1 AND before.quarter = now.quarter
        WHERE now.reporter_type = 'enterprise' GROUP BY ALL""")
    assert len(published) > 100
    assert all(abs(published[(z, p, q)] - float(g)) < 1e-9 for z, p, q, g in recomputed if (z, p, q) in published)
