"""Each gate passes on good data and fails, naming the expectation and the rows, on data built to break it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from expectations.runner import validate_table
from expectations.suites import SUITES
from ingestion.contracts import ENTERPRISE, Kind

# Values that keep every contract rule (st_staff <= employees, hightech_revenue <= revenue, ...).
CONSISTENT = {"employees": 100, "st_staff": 30, "rd_staff": 10, "graduates": 50, "revenue": 1000,
              "hightech_revenue": 700, "rd_expense": 50, "rd_expense_domestic": 45, "tech_field": "'电子信息'"}
SQL_TYPES = {Kind.INT: "BIGINT", Kind.DECIMAL: "DECIMAL(18, 4)", Kind.TEXT: "VARCHAR", Kind.DATE: "DATE",
             Kind.BOOL: "BOOLEAN", Kind.TIMESTAMP: "TIMESTAMPTZ"}
DEFAULTS = {Kind.INT: "1", Kind.DECIMAL: "10", Kind.TEXT: "NULL", Kind.DATE: "NULL", Kind.BOOL: "NULL", Kind.TIMESTAMP: "NULL"}


def good_facts_sql() -> str:
    """Forty consistent facts with every published column of the enterprise contract."""
    keys = {"filing_id": "'F' || i", "uscc": "'9111000060003734' || lpad(CAST(i AS VARCHAR), 2, '0')",
            "period": "2022", "revision": "1"}
    columns = ["'K' || i AS enterprise_key"]
    for f in ENTERPRISE.fields:
        if f.personal:
            continue
        value = keys.get(f.key) or str(CONSISTENT.get(f.key, DEFAULTS[f.kind]))
        columns.append(f"CAST({value} AS {SQL_TYPES[f.kind]}) AS {f.key}")
    return f"SELECT {', '.join(columns)} FROM range(1, 41) t(i)"


BREAKS = {
    "duplicate report": ("UPDATE analytics.fct_enterprise_annual SET uscc = '911100006000373401' WHERE filing_id = 'F2'",
                         "expect_compound_columns_to_be_unique", 2),
    "st_staff above employees": ("UPDATE analytics.fct_enterprise_annual SET st_staff = 101 WHERE filing_id IN ('F3', 'F4')",
                                 "expect_column_pair_values_a_to_be_greater_than_b", 2),
    "negative revenue": ("UPDATE analytics.fct_enterprise_annual SET revenue = -5, hightech_revenue = -6 WHERE filing_id = 'F5'",
                         "expect_column_values_to_be_between", 1),
    "unknown tech field": ("UPDATE analytics.fct_enterprise_annual SET tech_field = '区块链' WHERE filing_id = 'F6'",
                           "expect_column_values_to_be_in_set", 1),
}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "build.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA analytics")
    con.execute(f"CREATE TABLE analytics.fct_enterprise_annual AS {good_facts_sql()}")
    con.close()
    return path


def run(path: Path, docs: Path | None = None):
    suite = SUITES["fct_enterprise_annual"]
    return validate_table(path, suite.table, suite.name, suite.build, docs)


def test_good_facts_pass_and_the_file_is_released(warehouse: Path, tmp_path: Path):
    result = run(warehouse, tmp_path / "docs")
    assert result.passed, result.summary()
    assert result.docs_page and Path(result.docs_page.removeprefix("file://")).exists()
    duckdb.connect(str(warehouse)).close()  # the gate holds no lock once it is done


@pytest.mark.parametrize("case", list(BREAKS))
def test_a_broken_fixture_fails_with_the_expectation_and_count(warehouse: Path, case: str):
    statement, expectation, unexpected = BREAKS[case]
    con = duckdb.connect(str(warehouse))
    con.execute(statement)
    con.close()
    result = run(warehouse)
    assert not result.passed
    failed = {f.expectation: f for f in result.failures}
    assert expectation in failed, result.summary()
    assert failed[expectation].unexpected_count == unexpected
    assert failed[expectation].sample
