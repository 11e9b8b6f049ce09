"""Publication to PostgreSQL: the `analytics` schema of the serving file, replaced whole in a database BI reads.

1. Load: every table is created in a staging schema (`analytics__new`) and filled with COPY, streamed from DuckDB
   as CSV through Arrow batches (no temporary files, no row-by-row Python). Comments and statistics are added, and
   the load commits. Nobody but the publisher can see the staging schema.
2. Swap: one short transaction locks the published tables, drops the old schema, renames the staging schema into
   its place and grants the reader role. A reader's statement therefore sees the whole old or the whole new
   schema. Its locks are taken with a short `lock_timeout`, and the swap is retried, so a long reader delays a
   publication a little but is never aborted by it (the publisher gives way before a deadlock can be declared).

Readers connect as the role `bi_reader` (created if missing, LOGIN, no password: on a server with password
authentication an administrator sets one). It may use the `analytics` schema and select from its tables, and is
granted nothing else. Personal columns are never created in PostgreSQL, whatever the serving file holds.
"""

from __future__ import annotations

import io
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from ingestion.sql import ident, literal
from warehouse.memory import DEFAULT_MEMORY_LIMIT, duckdb_config
from warehouse.publish import PERSONAL_COLUMNS, PublishedTable

SCHEMA = "analytics"
READER_ROLE = "bi_reader"
COPY_BATCH_ROWS = 100_000
LOCK_TIMEOUT = "200ms"  # well under deadlock_timeout (1 s by default): the publisher always gives way first
SWAP_DEADLINE_S = 60.0

# DuckDB column types and their PostgreSQL equivalents; DECIMAL(p,s) keeps its precision and scale.
PG_TYPES = {
    "VARCHAR": "text", "BOOLEAN": "boolean", "TINYINT": "smallint", "SMALLINT": "smallint", "INTEGER": "integer",
    "BIGINT": "bigint", "UTINYINT": "smallint", "USMALLINT": "integer", "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)", "HUGEINT": "numeric(39,0)", "FLOAT": "real", "DOUBLE": "double precision",
    "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "UUID": "uuid", "INTERVAL": "interval",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_ROLE = re.compile(r"[a-z_][a-z0-9_]*")


class UnsupportedColumnType(ValueError):
    pass


@dataclass(frozen=True)
class PostgresPublishResult:
    target: str  # host:port/dbname, never the credentials
    schema: str
    tables: list[PublishedTable]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def pg_type(duckdb_type: str, where: str = "") -> str:
    decimal = _DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    if duckdb_type in PG_TYPES:
        return PG_TYPES[duckdb_type]
    raise UnsupportedColumnType(
        f"{where}: DuckDB type {duckdb_type} has no PostgreSQL equivalent here; add it to PG_TYPES in "
        "warehouse/postgres.py or cast the column in its model"
    )


def describe_target(dsn: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


@dataclass(frozen=True)
class _Table:
    name: str
    comment: str | None
    columns: list[tuple[str, str, str | None]]  # name, PostgreSQL type, comment


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[_Table]:
    tables = []
    for name, comment in con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'serving' AND schema_name = ? "
        "ORDER BY table_name", [schema]
    ).fetchall():
        columns = [
            (column, pg_type(data_type, f"{schema}.{name}.{column}"), note)
            for column, data_type, note in con.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE database_name = 'serving' "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]
            ).fetchall()
            if column not in PERSONAL_COLUMNS
        ]
        tables.append(_Table(name, comment, columns))
    return tables


def _arrow_batches(result: duckdb.DuckDBPyConnection):
    reader = getattr(result, "to_arrow_reader", None)
    return reader(COPY_BATCH_ROWS) if reader else result.fetch_record_batch(COPY_BATCH_ROWS)


def _load(con: duckdb.DuckDBPyConnection, pg: psycopg.Connection, table: _Table, schema: str, staging: str) -> int:
    import pyarrow.csv as pacsv

    target = sql.Identifier(staging, table.name)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t, _ in table.columns)
    names = sql.SQL(", ").join(sql.Identifier(c) for c, _, _ in table.columns)
    with pg.cursor() as cur:
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, columns))
        selected = ", ".join(ident(c) for c, _, _ in table.columns)
        result = con.execute(f'SELECT {selected} FROM serving."{schema}"."{table.name}"')
        options = pacsv.WriteOptions(include_header=False)
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)) as copy:
            for batch in _arrow_batches(result):
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, write_options=options)  # NULL unquoted-empty, '' quoted: as COPY reads
                copy.write(buffer.getvalue())
        if table.comment:
            cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(table.comment)))
        for column, _, note in table.columns:
            if note:
                cur.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    target, sql.Identifier(column), sql.Literal(note)))
        cur.execute(sql.SQL("ANALYZE {}").format(target))
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(target))
        return cur.fetchone()[0]


def ensure_reader_role(pg: psycopg.Connection, role: str = READER_ROLE) -> None:
    if not _ROLE.fullmatch(role):
        raise ValueError(f"reader role {role!r} must be a plain lower-case identifier")
    # CREATE ROLE has no IF NOT EXISTS; two publishers creating it at once may also collide on the catalog index.
    with pg.transaction():
        pg.execute(
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )


def _swap(pg: psycopg.Connection, schema: str, staging: str, role: str) -> None:
    deadline = time.monotonic() + SWAP_DEADLINE_S
    while True:
        try:
            with pg.transaction(), pg.cursor() as cur:
                cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema])
                old = [sql.Identifier(schema, name) for (name,) in cur.fetchall()]
                if old:
                    cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(", ").join(old)))
                cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(schema)))
                _grant(cur, schema, role, pg.info.dbname)
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.1))  # let the readers holding the tables finish


def _grant(cur: psycopg.Cursor, schema: str, role: str, dbname: str) -> None:
    target, reader = sql.Identifier(schema), sql.Identifier(role)
    cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), reader))
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(target, reader))
    cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(target, reader))
    cur.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(target, reader))


def publish_postgres(serving_db: Path, dsn: str, schema: str = SCHEMA, role: str = READER_ROLE,
                     on_table: Callable[[int, int, PublishedTable], None] | None = None,
                     memory_limit: str = DEFAULT_MEMORY_LIMIT) -> PostgresPublishResult:
    """Replace `schema` in the PostgreSQL database at `dsn` with the same schema of the serving file.
    `on_table(done, total, table)` reports progress after each table is loaded; DuckDB spills beyond `memory_limit`."""
    staging = f"{schema}__new"
    con = duckdb.connect(config=duckdb_config(memory_limit))
    try:
        con.execute(f"ATTACH {literal(Path(serving_db))} AS serving (READ_ONLY)")
        tables = _tables(con, schema)
        with psycopg.connect(dsn, autocommit=True) as pg:
            ensure_reader_role(pg, role)
            published: list[PublishedTable] = []
            with pg.transaction():
                pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(staging)))
                pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
                schema_comment = con.execute(
                    "SELECT comment FROM duckdb_schemas() WHERE database_name = 'serving' AND schema_name = ?",
                    [schema]).fetchone()
                if schema_comment and schema_comment[0]:
                    pg.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                        sql.Identifier(staging), sql.Literal(schema_comment[0])))
                for table in tables:
                    published.append(PublishedTable(schema, table.name, _load(con, pg, table, schema, staging)))
                    if on_table:
                        on_table(len(published), len(tables), published[-1])
            _swap(pg, schema, staging, role)
    finally:
        con.close()
    return PostgresPublishResult(describe_target(dsn), schema, published)
