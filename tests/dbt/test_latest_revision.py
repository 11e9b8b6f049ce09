"""Every user of the latest-revision rule keeps the same row: dbt's macro, the gates and the benchmark.

The cases are those on which the tie-breaks once written separately disagreed: one revision of a filing delivered
twice, differing only in submission, load, delivery or row; and the case on which a run killed midway once published
another delivery than an uninterrupted run (the choice followed the load before the delivery).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import jinja2
import pyarrow as pa
import pytest

from benchmark import nightly
from expectations.rules import latest_revisions
from ingestion.contracts import ENTERPRISE, LATEST_REVISION_ORDER, landing_schema

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"
# Staging's renames of the lineage columns (dbt_project/macros/stage_raw.sql).
STAGED = {"_channel": "channel", "_source": "source", "_source_sha256": "source_sha256",
          "_row_number": "source_row", "_loaded_at": "loaded_at"}

T0 = dt.datetime(2024, 3, 1, 2, tzinfo=dt.timezone.utc)
LATER = T0 + dt.timedelta(days=1)
# (filing_id, revision, submitted_at, _loaded_at, _source, _row_number, name); the row named "keep" must win.
ROWS = [
    # a later submission wins over a later load
    ("A", 2, LATER, T0, "a.csv", 2, "keep"), ("A", 2, T0, LATER, "b.csv", 2, "drop"), ("A", 1, LATER, LATER, "c", 9, "drop"),
    # same submission, the same delivery sent again: the later load wins
    ("B", 2, T0, LATER, "a.csv", 3, "keep"), ("B", 2, T0, T0, "a.csv", 3, "drop"),
    # same submission and load (one run landed both deliveries): the last delivery wins
    ("C", 3, T0, T0, "2024/b.csv", 2, "keep"), ("C", 3, T0, T0, "2024/a.csv", 7, "drop"),
    # the same delivery twice over: its last row wins
    ("D", 1, T0, T0, "a.csv", 5, "keep"), ("D", 1, T0, T0, "a.csv", 4, "drop"),
    # same submission, two deliveries landed by different runs: the last delivery wins, as when one run lands both,
    # so a run interrupted between them publishes what an uninterrupted one does
    ("E", 1, T0, T0, "2024/b.csv", 1, "keep"), ("E", 1, T0, LATER, "2024/a.csv", 1, "drop"),
]


def raw_table() -> pa.Table:
    schema = landing_schema(ENTERPRISE)
    keys = ("filing_id", "revision", "submitted_at", "_loaded_at", "_source", "_row_number", "name")
    columns = {k: [row[i] for row in ROWS] for i, k in enumerate(keys)}
    columns.update(period=[2023] * len(ROWS), _channel=["files"] * len(ROWS), _source_sha256=["0"] * len(ROWS))
    return pa.table({f.name: pa.array(columns.get(f.name, [None] * len(ROWS)), f.type) for f in schema}, schema=schema)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    table = raw_table()
    con.register("landed", table)
    con.execute("CREATE TABLE raw.enterprise_files AS SELECT * FROM landed")
    renamed = ", ".join(f"{c} AS {STAGED.get(c, c)}" for c in table.column_names)
    con.execute(f"CREATE TABLE staged AS SELECT {renamed} FROM raw.enterprise_files")
    yield con
    con.close()


def kept(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    return dict(con.execute(f"SELECT filing_id, name FROM ({sql}) chosen").fetchall())


def dbt_macro_sql(relation: str) -> str:
    """The SQL dbt's `latest_revision` macro renders, from the parsed project (`make manifest`)."""
    if not MANIFEST.exists():
        pytest.fail(f"{MANIFEST} is missing: run `make manifest`")
    macro = json.loads(MANIFEST.read_text())["macros"]["macro.ndc.latest_revision"]["macro_sql"]
    return jinja2.Environment().from_string(macro + "{{ latest_revision('" + relation + "') }}").render()


def test_the_cases_are_ties_under_the_old_gate_order(con):
    # The gates once stopped at the load; rows C and D tie there, so their choice depended on row order.
    ties = con.execute("SELECT filing_id FROM raw.enterprise_files GROUP BY filing_id, revision, submitted_at, "
                       "_loaded_at HAVING count(*) > 1 ORDER BY 1").fetchall()
    assert ties == [("C",), ("D",)]


def test_dbt_gates_and_benchmark_keep_the_same_revision(con):
    expected = {"A": "keep", "B": "keep", "C": "keep", "D": "keep", "E": "keep"}
    assert kept(con, dbt_macro_sql("staged")) == expected
    assert kept(con, latest_revisions("raw.enterprise_files")) == expected
    # The nightly benchmark delivers a correction of the latest revision of filings drawn at random; drawing more
    # filings than there are takes each one's latest revision.
    nightly._draw(con, "enterprise", "correction", n=100, seed=1)
    assert dict(con.execute("SELECT filing_id, name FROM drawn").fetchall()) == expected


def test_dbt_macro_orders_by_the_contract_keys():
    sql = " ".join(dbt_macro_sql("staged").split()).lower()
    order = ", ".join(f"{STAGED.get(k, k)} desc" for k in LATEST_REVISION_ORDER)
    assert f"order by {order} )" in sql
