"""Publication to the real PostgreSQL: the whole schema with its comments, readable by bi_reader and nothing else,
never a personal column, and a failed publication leaves the published schema exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.support import schema_checksum, throwaway_database
from tests.warehouse.serving_versions import build_version
from warehouse.postgres import READER_ROLE, UnsupportedColumnType, pg_type, publish_postgres
from warehouse.publish import publish_duckdb


@pytest.fixture
def pg() -> Iterator[str]:
    with throwaway_database() as dsn:
        yield dsn


def serving(tmp_path: Path, version: int) -> Path:
    build_version(tmp_path / "build.duckdb", version)
    return publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").path


def as_reader(dsn: str) -> psycopg.Connection:
    return psycopg.connect(psycopg.conninfo.make_conninfo(dsn, user=READER_ROLE), autocommit=True)


def test_publishes_every_table_with_rows_comments_and_no_personal_column(pg: str, tmp_path: Path):
    result = publish_postgres(serving(tmp_path, 2), pg)
    assert sorted((t.name, t.rows) for t in result.tables) == [("dims", 200), ("facts", 200)]
    assert result.target == "127.0.0.1:5432/" + psycopg.conninfo.conninfo_to_dict(pg)["dbname"]
    with psycopg.connect(pg) as con:
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' "
            "AND table_name = 'facts' ORDER BY ordinal_position")]
        assert "contact_phone" not in columns and columns[:2] == ["id", "version"]
        assert con.execute("SELECT obj_description('analytics.facts'::regclass, 'pg_class')").fetchone() == (
            "版本表. Versioned table.",)
        assert con.execute("SELECT col_description('analytics.facts'::regclass, 2)").fetchone() == (
            "版本. Publication version.",)
        # NULL and the empty string survive the CSV stream as themselves.
        assert con.execute("SELECT count(*) FILTER (WHERE note IS NULL), count(*) FILTER (WHERE note = '') "
                           "FROM analytics.facts").fetchone() == (29, 34)
        assert con.execute("SELECT submitted_at = TIMESTAMPTZ '2024-03-15 00:00:00+00', amount FROM analytics.facts "
                           "WHERE id = 3").fetchone() == (True, Decimal("4.5000"))
        assert con.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'analytics__new'").fetchone() == (0,)


def test_bi_reader_reads_analytics_and_nothing_else(pg: str, tmp_path: Path):
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute("CREATE SCHEMA raw")
        admin.execute("CREATE TABLE raw.filings AS SELECT '13800000000'::text AS contact_phone")
        admin.execute("CREATE TABLE public.notes AS SELECT 1 AS x")
    publish_postgres(serving(tmp_path, 1), pg)
    publish_postgres(serving(tmp_path, 3), pg)  # grants survive a republication
    with as_reader(pg) as reader:
        assert reader.execute("SELECT count(*) FROM analytics.facts").fetchone() == (300,)
        for forbidden in ("SELECT * FROM raw.filings", "SELECT * FROM public.notes",
                          "CREATE TABLE analytics.mine (x int)", "DELETE FROM analytics.facts"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(forbidden)
        with pytest.raises(psycopg.errors.UndefinedColumn):
            reader.execute("SELECT contact_phone FROM analytics.facts")
        personal = reader.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'contact_phone' "
            "AND table_schema = 'analytics'").fetchone()
        assert personal == (0,)


def test_a_failed_publication_leaves_the_published_schema_unchanged(pg: str, tmp_path: Path):
    publish_postgres(serving(tmp_path, 1), pg)
    before = schema_checksum(pg)
    broken = tmp_path / "broken"
    broken.mkdir()
    build_version(broken / "build.duckdb", 2)
    con = duckdb.connect(str(broken / "build.duckdb"))
    con.execute("UPDATE analytics.facts SET label = 'a' || chr(0) || 'b' WHERE id = 150")  # PostgreSQL refuses NUL
    con.close()
    with pytest.raises(psycopg.Error):
        publish_postgres(publish_duckdb(broken / "build.duckdb", broken / "serving.duckdb").path, pg)
    assert schema_checksum(pg) == before
    with psycopg.connect(pg) as con:
        assert con.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'analytics__new'").fetchone() == (0,)


def test_column_types_map_to_postgres_or_name_the_column():
    assert pg_type("DECIMAL(18,4)") == "numeric(18,4)"
    assert pg_type("TIMESTAMP WITH TIME ZONE") == "timestamptz"
    with pytest.raises(UnsupportedColumnType, match="analytics.facts.tags"):
        pg_type("VARCHAR[]", "analytics.facts.tags")
