"""The star schema and the evaluation marts on the generated sample, through the real `ndc` command."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingestion.contracts import ENTERPRISE
from tests.conftest import PublishedSample, deliver, run_ndc

pytestmark = pytest.mark.slow

PUBLISHED = [
    "dim_region", "dim_zone", "dim_enterprise", "dim_enterprise_label", "dim_carrier", "dim_period", "dim_tech_field",
    "dim_industry", "dim_contract_type", "fct_enterprise_annual", "fct_carrier_annual", "fct_tech_contract",
    "fct_zone_annual", "mart_hte_eligibility", "mart_sme_evaluation", "mart_incubator_criteria",
    "mart_zone_evaluation", "mart_zone_indicator_scores", "mart_tech_market", "mart_region_summary",
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


def latest_filing(build: Path, period: int) -> dict:
    """An enterprise report of `period` as it stands, with every contract field."""
    keys = [f.key for f in ENTERPRISE.fields]
    con = duckdb.connect(str(build), read_only=True)
    try:
        row = con.execute(
            f"SELECT {', '.join(keys)} FROM intermediate.int_enterprise__latest_filings "
            "WHERE period = ? AND revenue > 1000 ORDER BY filing_id LIMIT 1", [period]
        ).fetchone()
    finally:
        con.close()
    return dict(zip(keys, row))


def as_cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def test_a_later_revision_of_an_older_year_replaces_its_fact_row_in_the_next_run(
    published_sample: PublishedSample, tmp_path: Path
):
    home = published_sample.copy_to(tmp_path / "ndc")
    build = home / "warehouse" / "build.duckdb"
    record = latest_filing(build, 2022)
    facts_before = query(build, "SELECT count(*) FROM analytics.fct_enterprise_annual")[0][0]

    corrected = {**record, "revision": record["revision"] + 1, "submitted_at": "2024-06-01T10:00:00+08:00",
                 "revenue": Decimal("1234.5"), "hightech_revenue": Decimal("1000")}
    deliver(home, "enterprise", 2022, f"{record['region_code'][:2]}0000_20240601.csv",
            [{k: as_cell(v) for k, v in corrected.items()}])
    result = run_ndc(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]

    serving = home / "warehouse" / "serving.duckdb"
    fact = query(serving, "SELECT revision, revenue, period FROM analytics.fct_enterprise_annual WHERE filing_id = ?",
                 [record["filing_id"]])
    assert fact == [(record["revision"] + 1, Decimal("1234.5"), 2022)]
    assert query(serving, "SELECT count(*) FROM analytics.fct_enterprise_annual")[0][0] == facts_before
    mart = query(serving, "SELECT revenue, hightech_revenue_share FROM analytics.mart_hte_eligibility "
                          "WHERE uscc = ? AND period = 2022", [record["uscc"]])
    assert mart == [(Decimal("1234.5"), 1000 / 1234.5)]
