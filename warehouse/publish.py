"""Publication: the gated build database copied to the serving file BI tools read.

BI never opens the build file (a reader's lock would block the next `dbt build`). The serving file is written
whole under a temporary name and renamed over the old one, so a reader sees either the old or the new version,
never a mix, and a failed publication leaves the old one untouched.

Each table is created with the keys the dbt project declares (warehouse/constraints.py): primary and unique keys,
foreign keys from facts and marts to the dimensions, NOT NULL. DuckDB takes them only in CREATE TABLE, so each
table is created with them and then filled, the dimensions before the tables that reference them.

A publication over a serving file with the same tables, columns and keys writes only what changed: it copies the
served file under the temporary name and, in the copy, inserts the new rows, updates the changed ones and deletes
the gone ones (matched by primary key, compared by a hash of every published column), then checks that every table
of the copy holds what the build holds (row count and two order-free sums of the rows' hashes) before the rename.
Keys are then checked only for the rows written, not for every row again: at national scale that check was most of
the publication. A table no foreign key references (a fact, a mart) with more than LEAF_REBUILD_FRACTION of its
rows changed is dropped and filled in bulk inside the copy instead, which is cheaper per row beyond that share.
A first publication, a changed table layout, more than MAX_CHANGED_FRACTION of the rows changed, or any error on
the way publishes the whole file as described above, so the result is the same file content either way;
`PublishResult.changed_rows` says which way it went.

A publication that would empty a published table, or take away more than MAX_SHRINK_FRACTION of its rows, is
refused unless the operator allows it (`ndc run --allow-shrink`): an empty or wrong NDC_HOME builds an empty
warehouse that passes every gate, and must not replace the one BI reads.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contracts import FAMILIES
from warehouse.constraints import Constraints, TableConstraints, creation_order
from ingestion.durable import replace_durably, temporary_beside
from ingestion.escaping import excerpt
from ingestion.sql import ident, literal
from warehouse.memory import DEFAULT_MEMORY_LIMIT, duckdb_config

PUBLISHED_SCHEMAS = ("analytics", "ops")
# What BI tools show for each published schema (PostgreSQL keeps schema comments; DuckDB cannot hold one).
SCHEMA_COMMENTS = {
    "analytics": "火炬统计 warehouse for BI: dimensions (dim_*), facts (fct_*) and evaluation marts (mart_*), published "
    "whole after the quality gates. Facts and marts join dimensions on their *_key columns (declared foreign keys); "
    "'-1' is each dimension's unknown member. Money in 千元, contract amounts in 万元.",
    "ops": "How the pipeline accounted for each delivery (a file or an API page): ingest_accounting.",
}
# Files DuckDB 1.0 and later can open: most BI drivers embed an older DuckDB than the one that builds.
SERVING_STORAGE_VERSION = "v1.0.0"
# Personal data from any filing contract; never published, whatever a model selects.
PERSONAL_COLUMNS = frozenset(f.key for family in FAMILIES.values() for f in family.fields if f.personal)
# The share of a published table's rows a publication may take away without `--allow-shrink`. Corrections and
# deduplication remove a few rows; losing more than half means the run read the wrong (or no) deliveries.
MAX_SHRINK_FRACTION = 0.5
# Above this share of the published rows inserted, updated or deleted, the whole file is written instead: row by row
# changes then cost more than copying every table afresh.
MAX_CHANGED_FRACTION = 0.3
# A table no foreign key references is written whole (dropped, created and filled in bulk) above this share of its
# rows changed: DuckDB deletes and inserts rows one by one in each index, about ten times the cost per row of a
# bulk insert (measured at national scale, docs/benchmark.md).
LEAF_REBUILD_FRACTION = 0.05

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: list[PublishedTable]
    # Rows inserted, updated or deleted in a copy of the served file; None when the whole file was written.
    changed_rows: int | None = None
    why_whole: str = ""  # why the whole file was written, when it was

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class Shrink:
    table: str  # schema.name
    before: int
    after: int  # 0 when the table is no longer published

    def __str__(self) -> str:
        return f"{self.table} from {self.before:,} to {self.after:,} rows (-{1 - self.after / self.before:.0%})"


class PublicationShrinks(RuntimeError):
    """A publication refused because it would empty or shrink published tables; nothing was swapped."""

    def __init__(self, target: str, shrinks: list[Shrink]):
        self.target, self.shrinks = target, shrinks
        super().__init__(
            f"publication to {target} blocked: it would shrink {len(shrinks)} published table(s): "
            + "; ".join(map(str, shrinks))
            + f". A publication may take away at most {MAX_SHRINK_FRACTION:.0%} of a table's rows. The copy BI reads "
            "is unchanged. Check that NDC_HOME holds this warehouse's deliveries; if the shrink is intended, run "
            "`ndc run --allow-shrink`."
        )


def shrinks(before: dict[str, int], after: dict[str, int]) -> list[Shrink]:
    """The tables (`schema.name` to rows) that `after` empties, drops or cuts by more than MAX_SHRINK_FRACTION.
    Nothing published before (a first publication) shrinks nothing."""
    found = []
    for table, rows in sorted(before.items()):
        new = after.get(table, 0)
        if rows > 0 and (new == 0 or new < rows * (1 - MAX_SHRINK_FRACTION)):
            found.append(Shrink(table, rows, new))
    return found


def _serving_counts(serving_db: Path, schemas: tuple[str, ...]) -> dict[str, int]:
    """Rows of each table the serving file serves now; empty when there is no serving file yet."""
    if not serving_db.exists():
        return {}
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        tables = con.execute(
            f"SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ({', '.join('?' for _ in schemas)})",
            list(schemas)).fetchall()
        return {f"{s}.{t}": con.execute(f"SELECT count(*) FROM {ident(s)}.{ident(t)}").fetchone()[0] for s, t in tables}
    finally:
        con.close()


def publish_duckdb(build_db: Path, serving_db: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS,
                   on_table: Callable[[int, int, PublishedTable], None] | None = None,
                   memory_limit: str = DEFAULT_MEMORY_LIMIT, allow_shrink: bool = False,
                   constraints: Constraints | None = None, changes_only: bool = True) -> PublishResult:
    """Publish `schemas` of the build database to the serving file and swap it in atomically, each table with its
    `constraints` (warehouse/constraints.py; none when not given): only the rows that changed when the served file
    allows it and `changes_only`, else the whole file (the module's docstring says when).
    `on_table(done, total, table)` reports progress after each table; DuckDB spills beyond `memory_limit`.
    Raises PublicationShrinks, leaving the old file in place, when the new one would shrink a table it serves,
    unless `allow_shrink`."""
    serving_db = Path(serving_db)
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    why = _why_whole(serving_db, changes_only)
    if not why:
        try:
            return _publish(build_db, serving_db, schemas, on_table, memory_limit, allow_shrink, constraints,
                            by_changes=True)
        except WholeInstead as exc:
            why = str(exc)
        except duckdb.Error as exc:  # e.g. a unique key a new row takes from a deleted one: the whole file is exact
            why = f"writing the changes failed ({type(exc).__name__}: {excerpt(str(exc), 200)})"
            log.warning("publication to %s: %s; writing the whole file instead", serving_db, why)
    return _publish(build_db, serving_db, schemas, on_table, memory_limit, allow_shrink, constraints,
                    by_changes=False, why=why)


class WholeInstead(Exception):
    """A publication of the changes that gave way to one of the whole file (the reason is the message)."""


def _why_whole(serving_db: Path, changes_only: bool) -> str:
    if not changes_only:
        return "asked for"
    if not serving_db.exists():
        return "nothing served yet"
    if serving_db.with_name(serving_db.name + ".wal").exists():
        return "the served file has a write-ahead log"
    return ""


def _publish(build_db: Path, serving_db: Path, schemas: tuple[str, ...],
             on_table: Callable[[int, int, PublishedTable], None] | None, memory_limit: str, allow_shrink: bool,
             constraints: Constraints | None, by_changes: bool, why: str = "") -> PublishResult:
    tmp = temporary_beside(serving_db)
    tables: list[PublishedTable] = []
    changed: int | None = None
    con = duckdb.connect(config=duckdb_config(memory_limit))
    try:
        con.execute(f"ATTACH {literal(Path(build_db).as_posix())} AS build (READ_ONLY)")
        if by_changes:
            shutil.copyfile(serving_db, tmp)  # readers keep the served file; the copy is changed, then renamed
            con.execute(f"ATTACH {literal(tmp.as_posix())} AS serving")
        else:
            con.execute(f"ATTACH {literal(tmp.as_posix())} AS serving "
                        f"(STORAGE_VERSION {literal(SERVING_STORAGE_VERSION)})")
        todo = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = 'build' "
            f"AND schema_name IN ({', '.join('?' for _ in schemas)}) ORDER BY schema_name, table_name",
            list(schemas),
        ).fetchall()
        # Each schema's tables in creation order: a foreign key names a table of its own schema, created before.
        plan = []
        for schema in schemas:
            comments = {name: comment for s, name, comment in todo if s == schema}
            keys = {name: c for (s, name), c in (constraints or {}).items() if s == schema}
            plan += [(schema, name, comments[name], keys.get(name)) for name in creation_order(comments, keys)]
        if by_changes:
            changed, tables = _write_changes(con, plan, schemas, on_table)
        else:
            for schema in schemas:
                con.execute(f"CREATE SCHEMA serving.{ident(schema)}")
            created: dict[str, set[str]] = {schema: set() for schema in schemas}
            for schema, name, comment, keys in plan:
                con.execute(f"USE serving.{ident(schema)}")
                tables.append(_copy_table(con, schema, name, comment, keys, created[schema]))
                created[schema].add(name)
                if on_table:
                    on_table(len(tables), len(plan), tables[-1])
        con.execute("USE memory")
        con.execute("DETACH serving")
        con.execute("DETACH build")
        if not allow_shrink:
            found = shrinks(_serving_counts(serving_db, schemas), {f"{t.schema}.{t.name}": t.rows for t in tables})
            if found:
                raise PublicationShrinks(str(serving_db), found)
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    con.close()
    replace_durably(tmp, serving_db)
    return PublishResult(serving_db, tables, changed, why)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, name: str,
             declared: TableConstraints | None) -> tuple[list[tuple[str, str, str | None]], TableConstraints]:
    """The build table's published columns (name, type, comment), personal ones left out, and its keys on them."""
    columns = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() "
        "WHERE database_name = 'build' AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    kept = [(c, data_type, note) for c, data_type, note in columns if c not in PERSONAL_COLUMNS]
    names = {c for c, _, _ in kept}
    return kept, (declared or TableConstraints()).without({c for c, _, _ in columns} - names)


def create_published_table(con: duckdb.DuckDBPyConnection, target: str, columns: list[tuple[str, str]],
                           keys: TableConstraints, created: set[str]) -> None:
    """CREATE TABLE `target` (a quoted name) with these (column, type) and keys, as a publication creates it: NOT
    NULL, primary and unique keys on columns it has, foreign keys only to tables of its schema already `created`
    (resolved in the connection's current schema). The benchmark's baseline creates its tables with it too."""
    names = {c for c, _ in columns}
    definitions = [f"{ident(c)} {data_type}{' NOT NULL' if c in keys.not_null else ''}" for c, data_type in columns]
    definitions += _key_clauses(keys, names, created)
    con.execute(f"CREATE TABLE {target} ({', '.join(definitions)})")


def _create(con: duckdb.DuckDBPyConnection, target: str, kept: list[tuple[str, str, str | None]],
            keys: TableConstraints, created: set[str]) -> None:
    create_published_table(con, target, [(c, data_type) for c, data_type, _ in kept], keys, created)


def _copy_table(con: duckdb.DuckDBPyConnection, schema: str, name: str, comment: str | None,
                declared: TableConstraints | None, created: set[str]) -> PublishedTable:
    """Create serving.schema.name with its constraints (foreign keys only to tables already `created`), fill it."""
    kept, keys = _columns(con, schema, name, declared)
    source, target = f"build.{ident(schema)}.{ident(name)}", f"serving.{ident(schema)}.{ident(name)}"
    selected = ", ".join(ident(c) for c, _, _ in kept)
    _create(con, target, kept, keys, created)
    con.execute(f"INSERT INTO {target} ({selected}) SELECT {selected} FROM {source}")
    if comment:
        con.execute(f"COMMENT ON TABLE {target} IS {literal(comment)}")
    for column, _, note in kept:
        if note:
            con.execute(f"COMMENT ON COLUMN {target}.{ident(column)} IS {literal(note)}")
    rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
    return PublishedTable(schema, name, rows)


@dataclass
class _Delta:
    """What one table's publication by changes writes."""
    schema: str
    name: str
    comment: str | None
    declared: TableConstraints | None  # as the dbt project declares them
    created_before: set[str]  # the tables of its schema created before it (a foreign key can name only those)
    kept: list[tuple[str, str, str | None]]
    keys: TableConstraints  # on the kept columns
    rows: int  # in the build
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    whole: bool = False  # a table without a primary key that changed: dropped, created and filled again

    @property
    def written(self) -> bool:
        return self.whole or bool(self.inserted or self.updated or self.deleted)

    @property
    def source(self) -> str:
        return f"build.{ident(self.schema)}.{ident(self.name)}"

    @property
    def target(self) -> str:
        return f"serving.{ident(self.schema)}.{ident(self.name)}"

    @property
    def delta(self) -> str:
        return f"memory.main.{ident(f'delta__{self.schema}__{self.name}')}"

    @property
    def selected(self) -> str:
        return ", ".join(ident(c) for c, _, _ in self.kept)

    @property
    def row_hash(self) -> str:
        return f"hash({self.selected})"

    @property
    def unique_columns(self) -> list[str]:
        """Columns of a unique key beside the primary key: DuckDB cannot update them where a foreign key
        references the row (it deletes and inserts it)."""
        return sorted({c for u in self.keys.unique for c in u} - set(self.keys.primary_key))

    def matches(self, left: str, right: str) -> str:
        return " AND ".join(f"{left}.{ident(c)} = {right}.{ident(c)}" for c in self.keys.primary_key)


def _fingerprint(con: duckdb.DuckDBPyConnection, relation: str, row_hash: str) -> tuple:
    """A table's rows, order-free: their count and two sums of their hashes."""
    return con.execute(f"SELECT count(*), bit_xor({row_hash}), sum({row_hash}::HUGEINT) FROM {relation}").fetchone()


def _write_changes(con: duckdb.DuckDBPyConnection, plan: list, schemas: tuple[str, ...],
                   on_table: Callable[[int, int, PublishedTable], None] | None) -> tuple[int, list[PublishedTable]]:
    """Make the attached copy of the served file (`serving`) hold what the build holds by writing only the rows
    that differ. Raises WholeInstead when the layout differs or too much changed."""
    deltas = [_Delta(schema, name, comment, declared, {n for s, n, _, _ in plan[:i] if s == schema},
                     *_columns(con, schema, name, declared), rows=0)
              for i, (schema, name, comment, declared) in enumerate(plan)]
    _same_layout(con, deltas, schemas)
    for d in deltas:
        d.rows = con.execute(f"SELECT count(*) FROM {d.source}").fetchone()[0]
        if not d.keys.primary_key:
            if _fingerprint(con, d.source, d.row_hash) != _fingerprint(con, d.target, d.row_hash):
                d.whole = True
                d.deleted = con.execute(f"SELECT count(*) FROM {d.target}").fetchone()[0]
                d.inserted = d.rows
            continue
        key = ", ".join(ident(c) for c in d.keys.primary_key)
        unique = f"hash({', '.join(map(ident, d.unique_columns))})" if d.unique_columns else "NULL"
        con.execute(
            f"CREATE OR REPLACE TABLE {d.delta} AS SELECT {key}, b.h AS new_hash, s.h AS old_hash, "
            f"b.u IS DISTINCT FROM s.u AS unique_changed "
            f"FROM (SELECT {key}, {d.row_hash} AS h, {unique} AS u FROM {d.source}) b "
            f"FULL JOIN (SELECT {key}, {d.row_hash} AS h, {unique} AS u FROM {d.target}) s USING ({key}) "
            "WHERE b.h IS DISTINCT FROM s.h")
        d.inserted, d.updated, d.deleted, moved = con.execute(
            "SELECT count(*) FILTER (old_hash IS NULL), count(*) FILTER (old_hash IS NOT NULL AND new_hash IS NOT "
            "NULL), count(*) FILTER (new_hash IS NULL), count(*) FILTER (old_hash IS NOT NULL AND new_hash IS NOT "
            f"NULL AND unique_changed) FROM {d.delta}").fetchone()
        if moved:
            raise WholeInstead(f"{moved:,} rows of {d.schema}.{d.name} change the value of a unique key")
    total = sum(d.rows for d in deltas)
    changed = sum(d.inserted + d.updated + d.deleted for d in deltas)
    if changed > MAX_CHANGED_FRACTION * max(total, 1):
        raise WholeInstead(f"{changed:,} rows changed of {total:,}")
    # A referenced table (a dimension) keeps its rows' keys: its new rows go in first, parents before children, its
    # changed rows are updated in place, and its gone rows go last, children first. A table nothing references (a
    # fact, a mart) has its changed and gone rows deleted, then its changed and new rows inserted, between the two:
    # DuckDB updates a column with an index (a foreign key's) by deleting and inserting the row anyway, and much
    # more slowly.
    referenced = {(d.schema, fk.table) for d in deltas for fk in d.keys.foreign_keys}
    parents = [d for d in deltas if (d.schema, d.name) in referenced]
    leaves = [d for d in deltas if (d.schema, d.name) not in referenced]
    for d in parents:
        if d.whole:
            raise WholeInstead(f"{d.schema}.{d.name} changed and has no primary key to match its rows by")
        if d.inserted:
            _insert(con, d, "d.old_hash IS NULL")
    for d in parents:
        others = [c for c, _, _ in d.kept if c not in d.keys.primary_key and c not in d.unique_columns]
        if d.updated and others:
            con.execute(f"UPDATE {d.target} t SET {', '.join(f'{ident(c)} = b.{ident(c)}' for c in others)} "
                        f"FROM {d.source} b, {d.delta} d WHERE {d.matches('t', 'd')} AND {d.matches('b', 'd')} "
                        "AND d.old_hash IS NOT NULL AND d.new_hash IS NOT NULL")
    for d in leaves:
        if d.whole or d.inserted + d.updated + d.deleted > LEAF_REBUILD_FRACTION * d.rows:
            # Dropped and created again as a whole publication creates it: a bulk insert checks keys far faster.
            con.execute(f"DROP TABLE {d.target}")
            con.execute(f"USE serving.{ident(d.schema)}")
            _copy_table(con, d.schema, d.name, d.comment, d.declared, created=d.created_before)
            con.execute("USE memory")
            continue
        if d.updated or d.deleted:
            con.execute(f"DELETE FROM {d.target} t USING {d.delta} d WHERE {d.matches('t', 'd')} "
                        "AND d.old_hash IS NOT NULL")
        if d.updated or d.inserted:
            _insert(con, d, "d.new_hash IS NOT NULL")
    for d in reversed(parents):
        if d.deleted:
            con.execute(f"DELETE FROM {d.target} t USING {d.delta} d WHERE {d.matches('t', 'd')} "
                        "AND d.new_hash IS NULL")
    tables = []
    for d in deltas:
        _update_comments(con, d)
        # A table nothing was written to was already compared row by row (its delta is empty): only the written
        # ones are checked again.
        if d.written and _fingerprint(con, d.source, d.row_hash) != _fingerprint(con, d.target, d.row_hash):
            log.error("publication by changes left %s.%s unlike the build", d.schema, d.name)
            raise WholeInstead(f"the changes did not reproduce {d.schema}.{d.name}")
        con.execute(f"DROP TABLE IF EXISTS {d.delta}")
        tables.append(PublishedTable(d.schema, d.name, d.rows))
        if on_table:
            on_table(len(tables), len(deltas), tables[-1])
    return changed, tables


def _insert(con: duckdb.DuckDBPyConnection, d: _Delta, which: str) -> None:
    """Insert the build's rows of table `d` whose delta row satisfies `which` (over the delta, aliased d)."""
    con.execute(f"INSERT INTO {d.target} ({d.selected}) SELECT {', '.join(f'b.{ident(c)}' for c, _, _ in d.kept)} "
                f"FROM {d.source} b JOIN {d.delta} d ON {d.matches('b', 'd')} WHERE {which}")


def _same_layout(con: duckdb.DuckDBPyConnection, deltas: list[_Delta], schemas: tuple[str, ...]) -> None:
    """Raise WholeInstead unless the copy holds exactly the tables a whole publication would create, each with the
    same columns, types and keys: compared with empty tables created so in a scratch database."""
    con.execute("ATTACH ':memory:' AS shape")
    try:
        for schema in schemas:
            con.execute(f"CREATE SCHEMA shape.{ident(schema)}")
        for d in deltas:
            con.execute(f"USE shape.{ident(d.schema)}")
            _create(con, f"shape.{ident(d.schema)}.{ident(d.name)}", d.kept, d.keys, d.created_before)
        con.execute("USE memory")
        # Every table of the served file, in any schema: one this build no longer publishes must go too.
        query = "SELECT schema_name, table_name, sql FROM duckdb_tables() WHERE database_name = ? ORDER BY ALL"
        listed = "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? ORDER BY ALL"
        wanted = con.execute(query, ["shape"]).fetchall() + con.execute(listed, ["shape"]).fetchall()
        served = con.execute(query, ["serving"]).fetchall() + con.execute(listed, ["serving"]).fetchall()
    finally:
        con.execute("USE memory")
        con.execute("DETACH shape")
    if wanted != served:
        raise WholeInstead("the served tables differ in columns, types or keys")
    views = con.execute("SELECT count(*) FROM duckdb_views() WHERE database_name = 'serving' AND NOT internal"
                        ).fetchone()[0]
    if views:
        raise WholeInstead("the served file holds views")


def _update_comments(con: duckdb.DuckDBPyConnection, d: _Delta) -> None:
    """The table's and its columns' comments as the build has them, where the copy's differ."""
    (served,) = con.execute("SELECT comment FROM duckdb_tables() WHERE database_name = 'serving' "
                            "AND schema_name = ? AND table_name = ?", [d.schema, d.name]).fetchone()
    if (served or None) != (d.comment or None):
        con.execute(f"COMMENT ON TABLE {d.target} IS {literal(d.comment) if d.comment else 'NULL'}")
    notes = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'serving' "
                             "AND schema_name = ? AND table_name = ?", [d.schema, d.name]).fetchall())
    for column, _, note in d.kept:
        if (notes.get(column) or None) != (note or None):
            con.execute(f"COMMENT ON COLUMN {d.target}.{ident(column)} IS {literal(note) if note else 'NULL'}")


def _key_clauses(keys: TableConstraints, columns: set[str], created: set[str]) -> list[str]:
    """PRIMARY KEY, UNIQUE and FOREIGN KEY clauses of CREATE TABLE, over columns the table has."""
    def listed(names: tuple[str, ...]) -> str:
        return ", ".join(map(ident, names))

    clauses = [f"PRIMARY KEY ({listed(keys.primary_key)})"] if keys.primary_key and set(keys.primary_key) <= columns \
        else []
    clauses += [f"UNIQUE ({listed(u)})" for u in keys.unique if set(u) <= columns]
    clauses += [f"FOREIGN KEY ({listed(f.columns)}) REFERENCES {ident(f.table)} ({listed(f.to_columns)})"
                for f in keys.foreign_keys if f.table in created and set(f.columns) <= columns]
    return clauses


def remove_leftover_temporaries(serving_db: Path) -> list[Path]:
    """Remove the temporary serving files (and their WAL) a killed publication left beside `serving_db`. Call it only
    while holding the run lock: then no publication is writing one."""
    serving_db = Path(serving_db)
    leftovers = [*serving_db.parent.glob(f".{serving_db.name}.*.tmp"),
                 *serving_db.parent.glob(f".{serving_db.name}.*.tmp.wal")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers
