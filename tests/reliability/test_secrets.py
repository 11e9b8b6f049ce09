"""No secret in the repository, and BI's role reads the published analytics and nothing else: no other table, no
personal column, no write (raw tables beside it: tests/warehouse/test_postgres.py). The API token in logs:
`test_api_faults.py`."""

from __future__ import annotations

import hashlib
import subprocess

import duckdb
import psycopg

from ingestion.uscc import CHARSET
from orchestration.settings import REPO_ROOT
from tests.support import PublishedSample
from warehouse.postgres import READER_ROLE
from warehouse.publish import PERSONAL_COLUMNS, PUBLISHED_SCHEMAS

# Values detect-secrets flags that are not secrets: the USCC character set (GB 32100-2015), in Python and SQL.
NOT_SECRETS = {hashlib.sha1(CHARSET.encode()).hexdigest()}


def test_no_secret_is_committed():
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert len(files) > 100
    found = SecretsCollection()
    with default_settings():
        # One file at a time: `scan_files` forks a process pool, and a fork from a pytest-xdist worker (which has
        # threads) can copy a held lock into a child that then waits on it forever, hanging the whole run.
        for name in files:
            found.scan_file(str(REPO_ROOT / name))
    flagged = [(path, s["type"], s["line_number"]) for path, secrets in found.json().items() for s in secrets
               if s["hashed_secret"] not in NOT_SECRETS]
    assert not flagged, f"possible secrets committed: {flagged}"


def test_bi_reader_reaches_only_the_published_schemas(published_sample: PublishedSample):
    with psycopg.connect(published_sample.postgres_dsn, autocommit=True) as admin:
        tables = admin.execute(
            "SELECT table_schema, table_name, has_table_privilege(%s, format('%%I.%%I', table_schema, table_name), "
            "'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')", [READER_ROLE]).fetchall()
        writable = admin.execute(
            "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(%s, oid, 'CREATE')", [READER_ROLE]).fetchall()
        columns = admin.execute("SELECT DISTINCT column_name FROM information_schema.columns "
                                "WHERE table_schema = ANY(%s)", [list(PUBLISHED_SCHEMAS)]).fetchall()
    readable = {(schema, name) for schema, name, granted in tables if granted}
    published = {(schema, name) for schema, name, _ in tables if schema in PUBLISHED_SCHEMAS}
    assert ("ops", "ingest_accounting") in published and readable == published, readable - published
    assert writable == []
    assert not PERSONAL_COLUMNS & {c for (c,) in columns}
    with psycopg.connect(psycopg.conninfo.make_conninfo(published_sample.postgres_dsn, user=READER_ROLE)) as reader:
        for statement in ("DELETE FROM analytics.fct_enterprise_annual", "SELECT * FROM pg_catalog.pg_authid",
                          "CREATE TABLE analytics.mine AS SELECT 1"):
            try:
                reader.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                reader.rollback()
            else:
                raise AssertionError(f"bi_reader may run: {statement}")


def test_the_serving_file_holds_no_raw_table_and_no_personal_column(published_sample: PublishedSample):
    con = duckdb.connect(str(published_sample.settings.serving_db), read_only=True)
    try:
        schemas = {s for (s,) in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
        columns = {c for (c,) in con.execute("SELECT DISTINCT column_name FROM duckdb_columns()").fetchall()}
    finally:
        con.close()
    assert schemas == {"analytics", "ops"}
    assert not PERSONAL_COLUMNS & columns and PERSONAL_COLUMNS
