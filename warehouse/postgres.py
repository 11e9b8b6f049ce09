"""Publication to PostgreSQL: the `analytics` and `ops` schemas of the serving file, replaced whole in a database BI
reads, with their keys.

1. Guard: a publication that would empty a published table or shrink it beyond MAX_SHRINK_FRACTION is refused
   before anything is loaded (warehouse/publish.py), unless allowed.
2. Load: every table is created in a staging schema (`analytics__new`, `ops__new`) and filled with COPY, streamed
   from DuckDB as CSV through Arrow batches (no temporary files, no row-by-row Python). The serving file's
   constraints follow (warehouse/constraints.py): NOT NULL in CREATE TABLE, then, once a table is filled, its
   primary and unique keys (one index build each, not a check per row), then, once every table is, the foreign keys
   (one validating join each). Comments and statistics are added, and the load commits. Nobody but the publisher
   can see the staging schemas.
3. Swap: one short transaction replaces the tables inside each schema (the schema itself, its grants and default
   privileges stay): it records the views other teams built on them, their owners, grants and comments, and the
   grants other roles hold on the tables, drops those views and the old tables (in one statement, so that the
   foreign keys between them go with them), moves the new tables in (their keys with them), and
   recreates and re-grants everything. A view the new tables cannot carry (a column it uses is gone) refuses the
   publication by name. A reader's statement sees the whole old or the whole new schema. Locks are taken with a
   short `lock_timeout` and the swap retried for at most `lock_wait_s`, so a reader delays a publication but is
   never aborted by it; a reader that holds on longer is named (pid, user, application, state, since when).
   Whatever fails, the staging schema is dropped and the old tables keep serving.

Readers connect as the role `bi_reader` (created if missing, LOGIN, no password: on a server with password
authentication an administrator sets one). It may connect to the published database, use the `analytics` schema
and select from its tables, and is granted nothing else; its temporary files are bounded by READER_TEMP_FILE_LIMIT.
PostgreSQL lets every role connect to a database whose CONNECT is granted to PUBLIC, and cannot deny one role what
PUBLIC holds: confining bi_reader means revoking PUBLIC's CONNECT on the server's other databases, which changes
them for everyone. Publication does that only when asked (`confine_reader`, NDC_PG_CONFINE_READER=1; the roles
that had CONNECT keep it, granted by name); otherwise it names the databases bi_reader can reach
(`PostgresPublishResult.reader_reaches`) and leaves them to their administrators. Personal columns are never created in PostgreSQL, whatever the serving
file holds. The DSN's password never appears in an error this module raises.
"""

from __future__ import annotations

import io
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import duckdb
import psycopg
from psycopg import sql

from ingestion.sql import ident, literal
from warehouse.memory import DEFAULT_MEMORY_LIMIT, duckdb_config
from warehouse.constraints import ForeignKey, TableConstraints
from warehouse.publish import PERSONAL_COLUMNS, PUBLISHED_SCHEMAS, SCHEMA_COMMENTS, PublicationShrinks, \
    PublishedTable, shrinks

READER_ROLE = "bi_reader"
COPY_BATCH_ROWS = 100_000
LOCK_TIMEOUT = "200ms"  # well under deadlock_timeout (1 s by default): the publisher always gives way first
LOCK_WAIT_S = 60.0  # how long the swap keeps retrying behind readers before it names them and gives up
# A BI query that sorts or hashes more than this on disk fails instead of filling the server's disk.
READER_TEMP_FILE_LIMIT = "2GB"

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


class PublicationError(RuntimeError):
    """A PostgreSQL publication failed; the old tables keep serving. Its text never holds the DSN's password."""


class PublicationLocked(PublicationError):
    pass


class ViewsWouldBreak(PublicationError):
    pass


@dataclass(frozen=True)
class PostgresPublishResult:
    target: str  # host:port/dbname, never the credentials
    schemas: tuple[str, ...]
    tables: list[PublishedTable]
    reader_reaches: list[str] = field(default_factory=list)  # other databases bi_reader may connect to

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
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the PostgreSQL server of NDC_PUBLISH_POSTGRES_DSN (which libpq cannot parse)"
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


_URI_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*:(?P<pw>.*)@", re.S)
_KEYWORD_PASSWORD = re.compile(r"(?:^|[\s?&])password\s*=\s*(?P<pw>'(?:[^'\\]|\\.)*'?|[^\s&]+)")


def _passwords(dsn: str) -> set[str]:
    """Every spelling of the DSN's password an error could quote: as parsed, as written, percent-encoded or not.
    Read with regular expressions too, because the DSNs libpq cannot parse are the ones it quotes."""
    found = set()
    try:
        found.add(psycopg.conninfo.conninfo_to_dict(dsn).get("password") or "")
    except psycopg.Error:
        pass
    for pattern in (_URI_PASSWORD, _KEYWORD_PASSWORD):
        for match in pattern.finditer(dsn):
            found.add(match.group("pw").strip("'"))
    spellings = set()
    for password in filter(None, found):
        spellings |= {password, unquote(password), quote(password, safe="")}
    return {p for p in spellings if p}


CONNECT_TIMEOUT_S = 10


def check_connection(dsn: str, timeout_s: int = CONNECT_TIMEOUT_S) -> None:
    """Connect to `dsn` once and leave: raises PublicationError, naming the target and never the password, when the
    DSN cannot be parsed or the server refuses it."""
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        raise PublicationError(f"NDC_PUBLISH_POSTGRES_DSN is no DSN libpq can read ({redact(_one_line(exc), dsn)}); "
                               "write it as postgresql://user@host:port/database") from None
    try:
        with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True) as pg:
            pg.execute("SELECT 1")
    except psycopg.Error as exc:
        raise PublicationError(f"cannot connect to PostgreSQL at {describe_target(dsn)} (NDC_PUBLISH_POSTGRES_DSN): "
                               f"{redact(_one_line(exc), dsn)}") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def redact(text: str, dsn: str) -> str:
    """`text` with the DSN's password replaced by `***`; the longest spellings go first."""
    for password in sorted(_passwords(dsn), key=len, reverse=True):
        text = text.replace(password, "***")
    return text


@dataclass(frozen=True)
class _Table:
    name: str
    comment: str | None
    columns: list[tuple[str, str, str | None]]  # name, PostgreSQL type, comment
    constraints: TableConstraints = TableConstraints()


def _constraints(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, TableConstraints]:
    """The constraints the serving file's tables of `schema` carry (warehouse/publish.py created them)."""
    found: dict[str, dict] = {}
    for table, kind, columns, referenced, to_columns in con.execute(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, referenced_column_names "
        "FROM duckdb_constraints() WHERE database_name = 'serving' AND schema_name = ? ORDER BY constraint_index",
        [schema],
    ).fetchall():
        entry = found.setdefault(table, {"primary_key": (), "unique": [], "not_null": set(), "foreign_keys": []})
        if kind == "PRIMARY KEY":
            entry["primary_key"] = tuple(columns)
        elif kind == "UNIQUE":
            entry["unique"].append(tuple(columns))
        elif kind == "NOT NULL":
            entry["not_null"].update(columns)
        elif kind == "FOREIGN KEY":
            entry["foreign_keys"].append(ForeignKey(tuple(columns), referenced, tuple(to_columns)))
    return {table: TableConstraints(e["primary_key"], tuple(e["unique"]), frozenset(e["not_null"]),
                                    tuple(e["foreign_keys"])).without(PERSONAL_COLUMNS)
            for table, e in found.items()}


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[_Table]:
    tables = []
    constraints = _constraints(con, schema)
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
        tables.append(_Table(name, comment, columns, constraints.get(name, TableConstraints())))
    return tables


def _arrow_batches(result: duckdb.DuckDBPyConnection):
    reader = getattr(result, "to_arrow_reader", None)
    return reader(COPY_BATCH_ROWS) if reader else result.fetch_record_batch(COPY_BATCH_ROWS)


def _load(con: duckdb.DuckDBPyConnection, pg: psycopg.Connection, table: _Table, schema: str, staging: str) -> int:
    import pyarrow.csv as pacsv

    target = sql.Identifier(staging, table.name)
    keys = table.constraints
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(sql.Identifier(c), sql.SQL(t), sql.SQL(" NOT NULL" if c in keys.not_null else ""))
        for c, t, _ in table.columns)
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
        # Keys after the load: one index build each instead of index maintenance per row.
        indexed = ([("PRIMARY KEY", keys.primary_key)] if keys.primary_key else []) + [("UNIQUE", u) for u in keys.unique]
        for kind, key in indexed:
            cur.execute(sql.SQL("ALTER TABLE {} ADD {} ({})").format(
                target, sql.SQL(kind), sql.SQL(", ").join(map(sql.Identifier, key))))
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
    wanted = f"temp_file_limit={READER_TEMP_FILE_LIMIT}"
    current = pg.execute("SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = 0 AND setrole = "
                         "(SELECT oid FROM pg_roles WHERE rolname = %s)", [role]).fetchone()
    if not current or wanted not in (current[0] or []):  # set once: a publisher that is no superuser need not
        pg.execute(sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(
            sql.Identifier(role), sql.Literal(READER_TEMP_FILE_LIMIT)))


def databases_reachable(pg: psycopg.Connection, role: str = READER_ROLE) -> list[str]:
    """The server's other databases `role` may connect to through PUBLIC (not by a grant of its own)."""
    return [d for (d,) in pg.execute(_REACHABLE_THROUGH_PUBLIC, [role, role]).fetchall()]


_REACHABLE_THROUGH_PUBLIC = (
    "SELECT d.datname FROM pg_database d WHERE d.datallowconn AND NOT d.datistemplate "
    "AND d.datname <> current_database() AND has_database_privilege(%s, d.oid, 'CONNECT') "
    "AND NOT EXISTS (SELECT FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
    "WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %s) AND a.privilege_type = 'CONNECT') "
    "ORDER BY 1")


def confine_reader(pg: psycopg.Connection, role: str = READER_ROLE) -> list[str]:
    """Take away the CONNECT `role` has on the server's other databases through PUBLIC. PostgreSQL cannot deny one
    role what PUBLIC holds, so PUBLIC loses it there and every other login role that had it is granted it by name.
    A database granting `role` CONNECT itself is left alone. Returns the databases `role` can still connect to
    (those the publisher may not change)."""
    for database in databases_reachable(pg, role):
        others = [r for (r,) in pg.execute(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND NOT rolsuper AND rolname <> %s "
            "AND has_database_privilege(oid, (SELECT oid FROM pg_database WHERE datname = %s), 'CONNECT')",
            [role, database])]
        with pg.transaction():
            target = sql.Identifier(database)
            if others:
                pg.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    target, sql.SQL(", ").join(map(sql.Identifier, others))))
            pg.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(target))
    return databases_reachable(pg, role)


def _swap(pg: psycopg.Connection, stagings: dict[str, str], role: str, lock_timeout: str,
          lock_wait_s: float) -> None:
    """Replace every schema by its staging schema (schema -> staging) in one transaction."""
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            with pg.transaction(), pg.cursor() as cur:
                cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
                # Recorded view definitions then name every schema, and recreate the same views.
                cur.execute("SET LOCAL search_path = pg_catalog")
                for schema, staging in stagings.items():
                    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
                    if cur.fetchone():
                        _replace_tables(pg, cur, schema, staging)
                    else:
                        cur.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                            sql.Identifier(staging), sql.Identifier(schema)))
                    _grant(cur, schema, role, pg.info.dbname)
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() > deadline:
                raise PublicationLocked(_locked_message(pg, tuple(stagings), lock_wait_s)) from None
            time.sleep(random.uniform(0.01, 0.1))  # let the readers holding the tables finish


@dataclass(frozen=True)
class _View:
    schema: str
    name: str
    materialized: bool
    definition: str
    owner: str  # quoted, as regrole prints it
    options: list[str] | None
    comment: str | None
    indexes: list[str]

    @property
    def ident(self) -> sql.Composable:
        return sql.Identifier(self.schema, self.name)

    @property
    def kind(self) -> sql.SQL:
        return sql.SQL("MATERIALIZED VIEW" if self.materialized else "VIEW")


# Views (at any depth) over the tables of a schema, those over others first: the order to recreate them in.
_DEPENDENT_VIEWS = """
WITH RECURSIVE dependents(oid, depth) AS (
    SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND r.ev_class <> t.oid
      AND t.relkind IN ('r', 'p') AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s)
    UNION ALL
    SELECT r.ev_class, v.depth + 1 FROM dependents v JOIN pg_depend d ON d.refobjid = v.oid
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND r.ev_class <> v.oid
)
SELECT n.nspname, c.relname, c.relkind = 'm', pg_get_viewdef(c.oid), c.relowner::regrole::text, c.reloptions,
       obj_description(c.oid, 'pg_class'),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY i.indexrelid)
FROM dependents v JOIN pg_class c ON c.oid = v.oid JOIN pg_namespace n ON n.oid = c.relnamespace
GROUP BY c.oid, n.nspname, c.relname ORDER BY max(v.depth), n.nspname, c.relname
"""

# Privileges on the schema's tables and on the views over them, other than their owners' own: to grant again.
_GRANTS = """
SELECT n.nspname, c.relname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
       a.privilege_type, a.is_grantable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
WHERE a.grantee <> c.relowner AND (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""


def _replace_tables(pg: psycopg.Connection, cur: psycopg.Cursor, schema: str, staging: str) -> None:
    """Replace the tables of `schema` with those of `staging` inside the schema, keeping what others built on it."""
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema])
    old = [name for (name,) in cur.fetchall()]
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [staging])
    new = [name for (name,) in cur.fetchall()]
    if old:
        cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(schema, t) for t in old)))
    views = [_View(*row) for row in cur.execute(_DEPENDENT_VIEWS, [schema]).fetchall()]
    relations = [(schema, t) for t in old] + [(v.schema, v.name) for v in views]
    grants = cur.execute(_GRANTS, [[r[0] for r in relations], [r[1] for r in relations]]).fetchall()
    cur.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s", [staging])
    schema_comment = cur.fetchone()[0]

    for view in reversed(views):
        cur.execute(sql.SQL("DROP {} {}").format(view.kind, view.ident))
    if old:
        # One statement: the foreign keys between the old tables go with them. No CASCADE: an object recorded nowhere
        # here (another schema's foreign key to these tables, a function) fails the swap instead of vanishing.
        cur.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(sql.Identifier(schema, t) for t in old)))
    for table in new:
        cur.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(sql.Identifier(staging, table), sql.Identifier(schema)))
    cur.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(staging)))
    cur.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(schema_comment)))

    broken = []
    for view in views:
        try:
            with pg.transaction():  # a savepoint: every view that cannot be recreated is named, not only the first
                _recreate(cur, view)
        except psycopg.errors.DatabaseError as exc:
            broken.append(f"{view.schema}.{view.name} ({exc.diag.message_primary or exc})")
    if broken:
        raise ViewsWouldBreak(
            f"publication of {schema} refused: it would break {len(broken)} view(s) built on it: {'; '.join(broken)}. "
            f"The old tables keep serving. Change or drop the view(s), or keep the column(s) in the published model."
        )
    present = {(schema, t) for t in new} | {(v.schema, v.name) for v in views}
    for rel_schema, name, grantee, privilege, grantable in grants:
        if (rel_schema, name) in present:  # a table no longer published takes its grants with it
            cur.execute(sql.SQL("GRANT {} ON TABLE {} TO {}{}").format(
                sql.SQL(privilege), sql.Identifier(rel_schema, name), sql.SQL(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else "")))


def _recreate(cur: psycopg.Cursor, view: _View) -> None:
    options = sql.SQL(" WITH ({})").format(sql.SQL(", ").join(map(sql.SQL, view.options))) \
        if view.options and not view.materialized else sql.SQL("")
    cur.execute(sql.SQL("CREATE {} {}{} AS {}").format(view.kind, view.ident, options,
                                                       sql.SQL(view.definition.rstrip().rstrip(";"))))
    cur.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(view.ident, sql.SQL(view.owner)))
    if view.comment is not None:
        cur.execute(sql.SQL("COMMENT ON {} {} IS {}").format(view.kind, view.ident, sql.Literal(view.comment)))
    for index in view.indexes:
        cur.execute(sql.SQL(index))


def _locked_message(pg: psycopg.Connection, schemas: tuple[str, ...], waited_s: float) -> str:
    """Who holds the locks the swap waited for: the sessions holding locks on the schemas' tables."""
    holders = pg.execute(
        "SELECT DISTINCT a.pid, a.usename, a.application_name, a.state, "
        "coalesce(a.xact_start, a.query_start, a.backend_start), a.client_addr "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.relation IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s)) ORDER BY 5, 1", [list(schemas)]).fetchall()
    sessions = "; ".join(
        f"pid {pid} (user {user}, application {app or '-'!r}, {state}, since {since:%Y-%m-%d %H:%M:%S %Z}"
        + (f", from {addr}" if addr else "") + ")"
        for pid, user, app, state, since, addr in holders) or "no session holds them any more"
    first = holders[0][0] if holders else None
    return (
        f"publication of {', '.join(schemas)} gave up after {waited_s:g} s waiting for locks on its tables, held by: {sessions}. "
        "The previous tables keep serving, and no staging schema was left. Ask the reader to end its transaction"
        + (f", or end it (SELECT pg_terminate_backend({first})), " if first else ", ")
        + "then run again."
    )


def _grant(cur: psycopg.Cursor, schema: str, role: str, dbname: str) -> None:
    target, reader = sql.Identifier(schema), sql.Identifier(role)
    cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), reader))
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(target, reader))
    cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(target, reader))
    cur.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(target, reader))


def publish_postgres(serving_db: Path, dsn: str, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS, role: str = READER_ROLE,
                     on_table: Callable[[int, int, PublishedTable], None] | None = None,
                     memory_limit: str = DEFAULT_MEMORY_LIMIT, allow_shrink: bool = False,
                     lock_timeout: str = LOCK_TIMEOUT, lock_wait_s: float = LOCK_WAIT_S,
                     confine: bool = False) -> PostgresPublishResult:
    """Replace the tables of `schemas` in the PostgreSQL database at `dsn` with those of the same schemas of the
    serving file, in one swap. `on_table(done, total, table)` reports progress after each table is loaded; DuckDB
    spills beyond `memory_limit`. Raises PublicationShrinks when it would shrink a served table (unless
    `allow_shrink`), ViewsWouldBreak, PublicationLocked after `lock_wait_s` behind readers; nothing is swapped then.
    With `confine`, takes away the CONNECT `role` has on the server's other databases through PUBLIC (see the
    module's docstring)."""
    try:
        return _publish(serving_db, dsn, schemas, role, on_table, memory_limit, allow_shrink, lock_timeout,
                        lock_wait_s, confine)
    except Exception as exc:
        text = str(exc)
        clean = redact(text, dsn)
        if clean == text:
            raise
        # Not chained: the original exception's text holds the password.
        raise PublicationError(f"publication to {describe_target(dsn)} failed: {clean}") from None


def _publish(serving_db: Path, dsn: str, schemas: tuple[str, ...], role: str,
             on_table: Callable[[int, int, PublishedTable], None] | None, memory_limit: str, allow_shrink: bool,
             lock_timeout: str, lock_wait_s: float, confine: bool) -> PostgresPublishResult:
    stagings = {schema: f"{schema}__new" for schema in schemas}
    con = duckdb.connect(config=duckdb_config(memory_limit))
    try:
        con.execute(f"ATTACH {literal(Path(serving_db))} AS serving (READ_ONLY)")
        tables = {schema: _tables(con, schema) for schema in schemas}
        with psycopg.connect(dsn, autocommit=True) as pg:
            ensure_reader_role(pg, role)
            if not allow_shrink:
                serving_rows = {f"{schema}.{t.name}": con.execute(
                    f"SELECT count(*) FROM serving.{ident(schema)}.{ident(t.name)}").fetchone()[0]
                    for schema in schemas for t in tables[schema]}
                found = shrinks({k: v for schema in schemas for k, v in _published_rows(pg, schema).items()},
                                serving_rows)
                if found:
                    raise PublicationShrinks(f"PostgreSQL {describe_target(dsn)}", found)
            try:
                published = _load_all(con, pg, tables, stagings, on_table)
                _swap(pg, stagings, role, lock_timeout, lock_wait_s)
            except BaseException:
                for staging in stagings.values():
                    _drop_staging(pg, staging)
                raise
            reaches = confine_reader(pg, role) if confine else databases_reachable(pg, role)
    finally:
        con.close()
    return PostgresPublishResult(describe_target(dsn), tuple(schemas), published, reaches)


def _published_rows(pg: psycopg.Connection, schema: str) -> dict[str, int]:
    """Rows of each table PostgreSQL serves now in `schema`; empty before the first publication."""
    names = [n for (n,) in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])]
    return {f"{schema}.{n}": pg.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, n))
                                        ).fetchone()[0] for n in names}


def _load_all(con: duckdb.DuckDBPyConnection, pg: psycopg.Connection, tables: dict[str, list[_Table]],
              stagings: dict[str, str], on_table: Callable[[int, int, PublishedTable], None] | None
              ) -> list[PublishedTable]:
    published: list[PublishedTable] = []
    total = sum(map(len, tables.values()))
    with pg.transaction():
        for schema, staging in stagings.items():
            pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(staging)))
            pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
            if SCHEMA_COMMENTS.get(schema):
                pg.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                    sql.Identifier(staging), sql.Literal(SCHEMA_COMMENTS[schema])))
            for table in tables[schema]:
                published.append(PublishedTable(schema, table.name, _load(con, pg, table, schema, staging)))
                if on_table:
                    on_table(len(published), total, published[-1])
            # Foreign keys once every table is filled: one validating join each.
            names = {t.name for t in tables[schema]}
            for table in tables[schema]:
                for key in table.constraints.foreign_keys:
                    if key.table in names:
                        pg.execute(sql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({})").format(
                            sql.Identifier(staging, table.name), sql.SQL(", ").join(map(sql.Identifier, key.columns)),
                            sql.Identifier(staging, key.table), sql.SQL(", ").join(map(sql.Identifier, key.to_columns))))
    return published


def _drop_staging(pg: psycopg.Connection, staging: str) -> None:
    """Leave no staging schema behind a failed publication (unless the connection itself is gone)."""
    try:
        if pg.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(staging)))
    except psycopg.Error:
        pass
