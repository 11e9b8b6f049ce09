"""The real PostgreSQL the tests publish to: the machine's server at 127.0.0.1:5432 (trust auth, user postgres), with
a throwaway database per use. `NDC_TEST_POSTGRES_DSN` points the tests at another server's maintenance database.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

ADMIN_DSN = os.environ.get("NDC_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_server() -> None:
    """Start the machine's PostgreSQL cluster if it is down (as the machine's own start-up does), or fail."""
    if _reachable():
        return
    for version in sorted(glob.glob("/etc/postgresql/*")):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", os.path.basename(version), "main", "start"],
                       capture_output=True, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _reachable():
            return
        time.sleep(0.5)
    raise RuntimeError(f"PostgreSQL is not reachable at {ADMIN_DSN} and could not be started: the publication "
                       "tests need the real server (set NDC_TEST_POSTGRES_DSN to use another one)")


def dsn_for(database: str) -> str:
    return psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=database)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty database `ndc_test_<random>`, dropped afterwards; yields its DSN."""
    ensure_server()
    name = f"ndc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield dsn_for(name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def schema_checksum(dsn: str, schema: str = "analytics") -> str:
    """A digest of everything a reader of `schema` sees: tables, columns and types, comments, grants and rows."""
    digest = hashlib.sha256()
    with psycopg.connect(dsn) as con:
        catalog = con.execute(
            "SELECT c.table_name, c.column_name, c.data_type, col_description(format('%%I.%%I', c.table_schema, "
            "c.table_name)::regclass, c.ordinal_position::int), obj_description(format('%%I.%%I', c.table_schema, "
            "c.table_name)::regclass, 'pg_class') FROM information_schema.columns c WHERE c.table_schema = %s "
            "ORDER BY c.table_name, c.ordinal_position", [schema]).fetchall()
        digest.update(repr(catalog).encode())
        grants = con.execute(
            "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = %s ORDER BY 1, 2, 3", [schema]).fetchall()
        digest.update(repr(grants).encode())
        for (table,) in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema]):
            rows = con.execute(sql.SQL("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t")
                               .format(sql.Identifier(schema, table))).fetchone()[0]
            digest.update(f"{table}:{rows}".encode())
    return digest.hexdigest()
