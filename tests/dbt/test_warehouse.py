"""The star schema and the evaluation marts on the generated sample, through the real `ndc` command."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.support import CORRECTED_HIGHTECH_REVENUE, CORRECTED_REVENUE, CorrectedYear, PublishedSample

pytestmark = pytest.mark.slow

PUBLISHED = [
    "dim_region", "dim_zone", "dim_zone_year", "dim_enterprise", "dim_enterprise_label", "dim_carrier", "dim_period",
    "dim_tech_field", "dim_tech_market_field", "dim_industry", "dim_contract_type", "fct_enterprise_annual",
    "fct_carrier_annual", "fct_tech_contract",
    "fct_zone_annual", "mart_hte_eligibility", "mart_sme_evaluation", "mart_incubator_criteria",
    "mart_zone_evaluation", "mart_zone_indicator_scores", "mart_tech_market", "mart_region_summary",
    "mart_zone_green_account", "mart_region_green_account",
]


def query(database: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_every_model_is_published_with_rows(published_sample: PublishedSample):
    assert published_sample.run.returncode == 0, published_sample.run.stdout + published_sample.run.stderr[-3000:]
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    for name in PUBLISHED:
        (rows,) = query(serving, f"SELECT count(*) FROM analytics.{name}")[0]
        assert rows > 0, f"analytics.{name} is empty on the sample"


def test_marts_evaluate_every_enterprise_year_and_rank_every_zone(published_sample: PublishedSample):
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    reports = query(serving, "SELECT count(DISTINCT (uscc, period)) FROM analytics.fct_enterprise_annual")[0][0]
    for mart in ("mart_hte_eligibility", "mart_sme_evaluation"):
        assert query(serving, f"SELECT count(*) FROM analytics.{mart}")[0][0] == reports
    ranks = query(serving, "SELECT period, count(*), min(rank), max(score_total) <= 100, count(*) FILTER (bottom_decile) "
                           "FROM analytics.mart_zone_evaluation GROUP BY period")
    for period, zones, best, within_scale, bottom in ranks:
        assert best == 1 and within_scale
        assert 0 < bottom <= zones // 10 + 1, (period, zones, bottom)


def test_the_zones_of_a_year_are_one_query_and_incomplete_zones_are_listed_but_not_ranked(
        published_sample: PublishedSample):
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    counts = dict(query(serving, "SELECT year, count(*) FROM analytics.dim_zone_year "
                                 "WHERE in_reference AND year IN (2020, 2022) GROUP BY year"))
    assert counts == {2020: 169, 2022: 173}
    # Every zone national in an evaluated year is listed; a zone not rankable has no rank and is never bottom.
    unlisted = query(serving, """SELECT y.year, y.zone_code FROM analytics.dim_zone_year y
                                 WHERE y.year IN (SELECT period FROM analytics.mart_zone_evaluation)
                                 AND y.zone_code NOT IN (SELECT zone_code FROM analytics.mart_zone_evaluation e
                                                         WHERE e.period = y.year)""")
    assert unlisted == []
    wrong = query(serving, """SELECT zone_code, period FROM analytics.mart_zone_evaluation
                              WHERE ranking_status <> 'ranked' AND (rank IS NOT NULL OR bottom_decile)""")
    assert wrong == []
    # Ranked exactly when the coverage reaches the threshold (var zone_rank_min_coverage, 0.85).
    misranked = query(serving, """SELECT zone_code, period, coverage FROM analytics.mart_zone_evaluation
                                  WHERE (rank IS NOT NULL) <> (coverage >= 0.85)""")
    assert misranked == []


def test_a_later_revision_of_an_older_year_replaces_its_fact_row_and_its_evaluation(corrected_sample: CorrectedYear):
    # The correction (a later revision of a 2022 report, with another revenue) arrived in a 2024 file; the run
    # that rebuilt 2022 took it.
    result = corrected_sample.backfill
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    serving = corrected_sample.home / "warehouse" / "serving.duckdb"
    fact = query(serving, "SELECT revision, revenue, period FROM analytics.fct_enterprise_annual WHERE filing_id = ?",
                 [corrected_sample.filing_id])
    assert fact == [(corrected_sample.corrected_revision, CORRECTED_REVENUE, 2022)]
    assert query(serving, "SELECT count(*) FROM analytics.fct_enterprise_annual")[0][0] == corrected_sample.facts_before
    mart = query(serving, "SELECT revenue, hightech_revenue_share FROM analytics.mart_hte_eligibility "
                          "WHERE uscc = ? AND period = 2022", [corrected_sample.uscc])
    assert mart == [(CORRECTED_REVENUE, float(CORRECTED_HIGHTECH_REVENUE / CORRECTED_REVENUE))]
