"""Publication swaps a whole serving file in, keeps comments, and never carries personal data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from warehouse.publish import publish_duckdb


def build(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE OR REPLACE TABLE analytics.facts AS SELECT i AS id, '138' || i AS contact_phone FROM range({rows}) t(i)"
    )
    con.execute("COMMENT ON TABLE analytics.facts IS '事实. Facts.'")
    con.execute("COMMENT ON COLUMN analytics.facts.id IS '编号. Id.'")
    con.execute("CREATE OR REPLACE TABLE raw.secret AS SELECT 1 AS x")
    con.close()


def test_publishes_analytics_with_comments_and_without_personal_columns(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    result = publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    assert [(t.schema, t.name, t.rows) for t in result.tables] == [("analytics", "facts", 10)]
    con = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    assert con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'facts'").fetchall() == [("id",)]
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'facts'").fetchone() == ("事实. Facts.",)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchone() == (0,)


def test_a_failed_publication_leaves_the_old_file_and_no_debris(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    before = hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest()
    with pytest.raises(duckdb.Error):
        publish_duckdb(tmp_path / "missing.duckdb", tmp_path / "serving.duckdb")
    assert hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb"]


def test_a_reader_of_the_old_file_keeps_reading_it_while_the_new_one_is_swapped_in(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    reader = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    build(tmp_path / "build.duckdb", 20)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    assert reader.execute("SELECT count(*) FROM analytics.facts").fetchone() == (10,)
    reader.close()
    fresh = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    assert fresh.execute("SELECT count(*) FROM analytics.facts").fetchone() == (20,)
