"""A blocking gate names the deliveries behind its failing rows: the files and filing ids to have corrected."""

from __future__ import annotations

import duckdb

from expectations.deliveries import Delivery, locate
from expectations.runner import FailedExpectation


def test_the_sampled_rows_lead_to_their_files_and_filing_ids(tmp_path):
    db = tmp_path / "build.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA analytics; CREATE SCHEMA raw")
    con.execute("CREATE TABLE analytics.fct (filing_id VARCHAR, uscc VARCHAR, period BIGINT, revenue DECIMAL(18,4), "
                "source VARCHAR)")
    con.execute("INSERT INTO analytics.fct VALUES ('E-1', 'A', 2022, 10, 'enterprise/2022/110000_20230315.csv'), "
                "('E-1-AGAIN', 'A', 2022, 10, 'enterprise/2022/110000_20231201.csv'), "
                "('E-2', 'B', 2022, -5, 'enterprise/2022/120000_20230315.csv'), "
                "('E-3', 'C', 2022, 7, 'enterprise/2022/120000_20230315.csv')")
    con.execute("CREATE TABLE raw.enterprise_files (filing_id VARCHAR, revenue DECIMAL(18,4), _source VARCHAR)")
    con.execute("INSERT INTO raw.enterprise_files VALUES ('E-2', -5, 'enterprise/2022/120000_20230315.csv')")
    con.execute("CREATE TABLE analytics.totals (period BIGINT, filings BIGINT)")  # no filing_id: names nothing
    con.close()

    duplicate = FailedExpectation("one_report_per_enterprise_and_year", "", 1, [{"uscc": "A", "period": 2022, "rows": 2}])
    assert locate(db, ["analytics.fct"], [duplicate]) == [
        Delivery("enterprise/2022/110000_20230315.csv", ("E-1",)),
        Delivery("enterprise/2022/110000_20231201.csv", ("E-1-AGAIN",)),
    ]
    negative = FailedExpectation("expect_column_values_to_be_between", "revenue", 1, ["-5.0000"])
    assert locate(db, ["raw.enterprise_files", "analytics.totals"], [negative]) == [
        Delivery("enterprise/2022/120000_20230315.csv", ("E-2",))]
    total = FailedExpectation("national_totals", "", 1, [{"period": 2022, "filings": 3}])
    assert locate(db, ["analytics.totals"], [total]) == []
