"""Publication swaps a whole serving file in, keeps comments, and never carries personal data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from warehouse.publish import PublicationShrinks, publish_duckdb


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


def test_a_publication_that_would_empty_or_halve_a_table_is_refused_unless_allowed(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    before = hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest()
    for rows in (0, 4):  # an empty NDC_HOME; a run that lost more than half of the deliveries
        build(tmp_path / "build.duckdb", rows)
        with pytest.raises(PublicationShrinks, match=rf"analytics.facts from 10 to {rows} rows \(-{100 - rows * 10}%\)"
                           r".*--allow-shrink"):
            publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
        assert hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb"]
    build(tmp_path / "build.duckdb", 5)  # half of the rows may go: corrections and deduplication remove some
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").rows == 5
    build(tmp_path / "build.duckdb", 0)
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb", allow_shrink=True).rows == 0


def test_a_first_publication_of_an_empty_warehouse_is_not_a_shrink(tmp_path: Path):
    build(tmp_path / "build.duckdb", 0)
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").rows == 0
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").rows == 0
