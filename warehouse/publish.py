"""Publication: the gated build database copied to the serving file BI tools read.

BI never opens the build file (a reader's lock would block the next `dbt build`). The serving file is written
whole under a temporary name and renamed over the old one, so a reader sees either the old or the new version,
never a mix, and a failed publication leaves the old one untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contracts import FAMILIES
from ingestion.durable import replace_durably, temporary_beside
from ingestion.sql import ident, literal
from warehouse.memory import DEFAULT_MEMORY_LIMIT, duckdb_config

PUBLISHED_SCHEMAS = ("analytics", "ops")
# Files DuckDB 1.0 and later can open: most BI drivers embed an older DuckDB than the one that builds.
SERVING_STORAGE_VERSION = "v1.0.0"
# Personal data from any filing contract; never published, whatever a model selects.
PERSONAL_COLUMNS = frozenset(f.key for family in FAMILIES.values() for f in family.fields if f.personal)


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




def publish_duckdb(build_db: Path, serving_db: Path, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS,
                   on_table: Callable[[int, int, PublishedTable], None] | None = None,
                   memory_limit: str = DEFAULT_MEMORY_LIMIT) -> PublishResult:
    """Copy `schemas` of the build database into a new serving file and swap it in atomically.
    `on_table(done, total, table)` reports progress after each table is copied; DuckDB spills beyond `memory_limit`."""
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
        for schema, name, comment in todo:
            tables.append(_copy_table(con, schema, name, comment))
            if on_table:
                on_table(len(tables), len(todo), tables[-1])
        con.execute("DETACH serving")
        con.execute("DETACH build")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    con.close()
    replace_durably(tmp, serving_db)
    return PublishResult(serving_db, tables)


def _copy_table(con: duckdb.DuckDBPyConnection, schema: str, name: str, comment: str | None) -> PublishedTable:
    columns = con.execute(
        "SELECT column_name, comment FROM duckdb_columns() "
        "WHERE database_name = 'build' AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    ).fetchall()
    kept = [(c, note) for c, note in columns if c not in PERSONAL_COLUMNS]
    source, target = f"build.{ident(schema)}.{ident(name)}", f"serving.{ident(schema)}.{ident(name)}"
    con.execute(f"CREATE TABLE {target} AS SELECT {', '.join(ident(c) for c, _ in kept)} FROM {source}")
    if comment:
        con.execute(f"COMMENT ON TABLE {target} IS {literal(comment)}")
    for column, note in kept:
        if note:
            con.execute(f"COMMENT ON COLUMN {target}.{ident(column)} IS {literal(note)}")
    rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
    return PublishedTable(schema, name, rows)


def remove_leftover_temporaries(serving_db: Path) -> list[Path]:
    """Remove the temporary serving files (and their WAL) a killed publication left beside `serving_db`. Call it only
    while holding the run lock: then no publication is writing one."""
    serving_db = Path(serving_db)
    leftovers = [*serving_db.parent.glob(f".{serving_db.name}.*.tmp"),
                 *serving_db.parent.glob(f".{serving_db.name}.*.tmp.wal")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers
