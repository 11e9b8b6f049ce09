"""Publication: the gated build database copied to the serving file BI tools read.

BI never opens the build file (a reader's lock would block the next `dbt build`). The serving file is written
whole under a temporary name and renamed over the old one, so a reader sees either the old or the new version,
never a mix, and a failed publication leaves the old one untouched.

Each table is created with the keys the dbt project declares (warehouse/constraints.py): primary and unique keys,
foreign keys from facts and marts to the dimensions, NOT NULL. DuckDB takes them only in CREATE TABLE, so each
table is created with them and then filled, the dimensions before the tables that reference them.

A publication that would empty a published table, or take away more than MAX_SHRINK_FRACTION of its rows, is
refused unless the operator allows it (`ndc run --allow-shrink`): an empty or wrong NDC_HOME builds an empty
warehouse that passes every gate, and must not replace the one BI reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contracts import FAMILIES
from warehouse.constraints import Constraints, TableConstraints, creation_order
from ingestion.durable import replace_durably, temporary_beside
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


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: list[PublishedTable]

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
                   constraints: Constraints | None = None) -> PublishResult:
    """Copy `schemas` of the build database into a new serving file and swap it in atomically, each table with its
    `constraints` (warehouse/constraints.py; none when not given).
    `on_table(done, total, table)` reports progress after each table is copied; DuckDB spills beyond `memory_limit`.
    Raises PublicationShrinks, leaving the old file in place, when the new one would shrink a table it serves,
    unless `allow_shrink`."""
    serving_db = Path(serving_db)
    serving_db.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(serving_db)
    tables: list[PublishedTable] = []
    con = duckdb.connect(config=duckdb_config(memory_limit))
    try:
        con.execute(f"ATTACH {literal(Path(build_db).as_posix())} AS build (READ_ONLY)")
        con.execute(f"ATTACH {literal(tmp.as_posix())} AS serving (STORAGE_VERSION {literal(SERVING_STORAGE_VERSION)})")
        todo = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = 'build' "
            f"AND schema_name IN ({', '.join('?' for _ in schemas)}) ORDER BY schema_name, table_name",
            list(schemas),
        ).fetchall()
        for schema in schemas:
            con.execute(f"CREATE SCHEMA serving.{ident(schema)}")
        for schema in schemas:
            comments = {name: comment for s, name, comment in todo if s == schema}
            keys = {name: c for (s, name), c in (constraints or {}).items() if s == schema}
            created: set[str] = set()
            # A foreign key names a table of its own database and schema, unqualified.
            con.execute(f"USE serving.{ident(schema)}")
            for name in creation_order(comments, keys):
                tables.append(_copy_table(con, schema, name, comments[name], keys.get(name), created))
                created.add(name)
                if on_table:
                    on_table(len(tables), len(todo), tables[-1])
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
    return PublishResult(serving_db, tables)


def _copy_table(con: duckdb.DuckDBPyConnection, schema: str, name: str, comment: str | None,
                declared: TableConstraints | None, created: set[str]) -> PublishedTable:
    """Create serving.schema.name with its constraints (foreign keys only to tables already `created`), fill it."""
    columns = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() "
        "WHERE database_name = 'build' AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    kept = [(c, data_type, note) for c, data_type, note in columns if c not in PERSONAL_COLUMNS]
    names = {c for c, _, _ in kept}
    keys = (declared or TableConstraints()).without({c for c, _, _ in columns} - names)
    definitions = [f"{ident(c)} {data_type}{' NOT NULL' if c in keys.not_null else ''}" for c, data_type, _ in kept]
    definitions += _key_clauses(keys, names, created)
    source, target = f"build.{ident(schema)}.{ident(name)}", f"serving.{ident(schema)}.{ident(name)}"
    selected = ", ".join(ident(c) for c, _, _ in kept)
    con.execute(f"CREATE TABLE {target} ({', '.join(definitions)})")
    con.execute(f"INSERT INTO {target} ({selected}) SELECT {selected} FROM {source}")
    if comment:
        con.execute(f"COMMENT ON TABLE {target} IS {literal(comment)}")
    for column, _, note in kept:
        if note:
            con.execute(f"COMMENT ON COLUMN {target}.{ident(column)} IS {literal(note)}")
    rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
    return PublishedTable(schema, name, rows)


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
