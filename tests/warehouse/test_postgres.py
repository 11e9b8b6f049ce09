"""Publication to the real PostgreSQL: the whole schema with its comments, readable by bi_reader and nothing else,
never a personal column, and a failed publication leaves the published schema exactly as it was."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

from tests.support import ADMIN_DSN, free_port, schema_checksum, throwaway_database
from tests.warehouse.serving_versions import build_version
from warehouse.postgres import (
    READER_ROLE,
    READER_TEMP_FILE_LIMIT,
    PublicationLocked,
    UnsupportedColumnType,
    ViewsWouldBreak,
    pg_type,
    publish_postgres,
)
from warehouse.publish import PublicationShrinks, publish_duckdb


@pytest.fixture
def pg() -> Iterator[str]:
    with throwaway_database() as dsn:
        yield dsn


def serving(tmp_path: Path, version: int) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
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


def staging_schemas(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as con:
        return [n for (n,) in con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'analytics%%' "
                                          "AND nspname <> 'analytics'")]


@pytest.fixture
def other_team(pg: str) -> Iterator[str]:
    """A role of another team, with its own schema `team` in the published database; dropped afterwards."""
    role = f"ndc_team_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("CREATE SCHEMA team AUTHORIZATION {}").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute("DROP SCHEMA IF EXISTS team CASCADE")
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        # A publication confining bi_reader meanwhile (another test) grants CONNECT by name on other databases.
        for (database,) in admin.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall():
            admin.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(
                sql.Identifier(database), sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_an_empty_or_halved_publication_is_refused_unless_allowed(pg: str, tmp_path: Path):
    publish_postgres(serving(tmp_path, 3), pg)
    before = schema_checksum(pg)
    for version in (0, 1):  # an empty NDC_HOME; 100 rows where 300 are served
        with pytest.raises(PublicationShrinks, match=rf"analytics.dims from 300 to {100 * version} rows.*"
                           rf"analytics.facts from 300 to {100 * version} rows.*--allow-shrink"):
            publish_postgres(serving(tmp_path / str(version), version), pg)
        assert schema_checksum(pg) == before and staging_schemas(pg) == []
    assert publish_postgres(serving(tmp_path / "forced", 0), pg, allow_shrink=True).rows == 0


def test_views_and_grants_of_other_teams_survive_a_republication(pg: str, tmp_path: Path, other_team: str):
    publish_postgres(serving(tmp_path, 1), pg)
    with psycopg.connect(pg, autocommit=True) as admin:
        team = sql.Identifier(other_team)
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA analytics TO {}").format(team))
        admin.execute(sql.SQL("GRANT SELECT ON analytics.dims TO {}").format(team))
        admin.execute("CREATE VIEW team.even_dims AS SELECT id, label FROM analytics.dims WHERE flag")
        admin.execute("CREATE VIEW team.even_count AS SELECT count(*) AS n FROM team.even_dims")  # a view on a view
        admin.execute(sql.SQL("ALTER VIEW team.even_dims OWNER TO {}").format(team))
        admin.execute("COMMENT ON VIEW team.even_dims IS 'the even ids'")
        admin.execute(sql.SQL("GRANT SELECT ON team.even_count TO {}").format(team))
    publish_postgres(serving(tmp_path / "2", 2), pg)
    with psycopg.connect(psycopg.conninfo.make_conninfo(pg, user=other_team)) as con:
        assert con.execute("SELECT count(*), max(version) FROM analytics.dims").fetchone() == (200, 2)
        assert con.execute("SELECT count(*) FROM team.even_dims").fetchone() == (100,)
        assert con.execute("SELECT n FROM team.even_count").fetchone() == (100,)
        assert con.execute("SELECT obj_description('team.even_dims'::regclass, 'pg_class'), "
                           "pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'team.even_dims'::regclass"
                           ).fetchone() == ("the even ids", other_team)
    with as_reader(pg) as reader:
        assert reader.execute("SELECT count(*) FROM analytics.facts").fetchone() == (200,)


def test_a_publication_that_would_break_a_view_is_refused_and_names_it(pg: str, tmp_path: Path, other_team: str):
    publish_postgres(serving(tmp_path, 1), pg)
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute("CREATE VIEW team.labels AS SELECT id, label FROM analytics.facts")
    before = schema_checksum(pg)
    build_version(tmp_path / "build.duckdb", 2)
    with duckdb.connect(str(tmp_path / "build.duckdb")) as con:
        con.execute("ALTER TABLE analytics.facts DROP COLUMN label")
    path = publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").path
    with pytest.raises(ViewsWouldBreak, match=r"team\.labels"):
        publish_postgres(path, pg)
    assert schema_checksum(pg) == before and staging_schemas(pg) == []
    with psycopg.connect(pg) as con:
        assert con.execute("SELECT count(*) FROM team.labels").fetchone() == (100,)


def test_an_idle_bi_transaction_delays_then_names_itself_and_the_old_copy_keeps_serving(pg: str, tmp_path: Path):
    publish_postgres(serving(tmp_path, 1), pg)
    before = schema_checksum(pg)
    reader = psycopg.connect(psycopg.conninfo.make_conninfo(pg, user=READER_ROLE, application_name="tableau-desk"))
    try:
        reader.execute("SELECT count(*) FROM analytics.facts")  # a transaction left open, idle, holding its lock
        pid = reader.info.backend_pid
        with pytest.raises(PublicationLocked) as locked:
            publish_postgres(serving(tmp_path / "2", 2), pg, lock_timeout="50ms", lock_wait_s=1.0)
        message = str(locked.value)
        for expected in (f"pid {pid}", f"user {READER_ROLE}", "tableau-desk", "idle in transaction", "since "):
            assert expected in message, message
        assert schema_checksum(pg) == before and staging_schemas(pg) == []
    finally:
        reader.close()
    assert publish_postgres(serving(tmp_path / "2", 2), pg, lock_timeout="50ms", lock_wait_s=1.0).rows == 400


def test_bi_reader_reaches_no_other_database_and_has_a_temp_file_limit(pg: str, tmp_path: Path):
    with throwaway_database() as other:
        other_name = psycopg.conninfo.conninfo_to_dict(other)["dbname"]
        # Unasked, publication changes no other database: it names the ones bi_reader could reach.
        reached = publish_postgres(serving(tmp_path / "1", 1), pg).reader_reaches
        assert other_name in reached
        psycopg.connect(psycopg.conninfo.make_conninfo(other, user=READER_ROLE)).close()
        try:
            assert other_name not in publish_postgres(serving(tmp_path / "2", 1), pg, confine=True).reader_reaches
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                psycopg.connect(psycopg.conninfo.make_conninfo(other, user=READER_ROLE)).close()
            with as_reader(pg) as reader:
                assert reader.execute("SELECT count(*) FROM analytics.facts").fetchone() == (100,)
            with psycopg.connect(other, autocommit=True) as admin:  # an administrator may still let it in
                admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(other_name), sql.Identifier(READER_ROLE)))
            psycopg.connect(psycopg.conninfo.make_conninfo(other, user=READER_ROLE)).close()
        finally:
            # The server is shared with the machine's other users: give PUBLIC back what the confinement took.
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                for database in reached:
                    admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO PUBLIC").format(sql.Identifier(database)))
    with psycopg.connect(ADMIN_DSN) as admin:
        settings = admin.execute("SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_roles r "
                                 "ON r.oid = s.setrole WHERE r.rolname = %s AND s.setdatabase = 0",
                                 [READER_ROLE]).fetchall()
    assert (f"temp_file_limit={READER_TEMP_FILE_LIMIT}",) in settings


@pytest.mark.parametrize("dsn", [
    "postgresql://ndc:{password}@127.0.0.1:{port}/ndc",  # nobody listens there
    "postgresql://ndc:{password}@[127.0.0.1:{port}/ndc",  # libpq quotes a DSN it cannot parse
    "postgresql://ndc:{password}%zz@127.0.0.1:{port}/ndc",  # and a password it cannot decode  # pragma: allowlist secret
    "host=127.0.0.1 port={port} user=ndc password={password} connect_timeout=2",
])
def test_the_dsn_password_never_reaches_the_error(tmp_path: Path, dsn: str):
    password = "pw-" + uuid.uuid4().hex  # pragma: allowlist secret (made up, random)
    with pytest.raises(Exception) as failed:
        publish_postgres(serving(tmp_path, 1), dsn.format(password=password, port=free_port()))
    shown = "".join(traceback.format_exception(failed.value))
    assert password not in shown, shown
