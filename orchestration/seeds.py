"""The reference seeds (code lists, thresholds, factors) are loaded into the build database again only when they
changed: a `dbt build` of every node otherwise reloads all of them, about 2 CPU-seconds of every run (dbt reads each
CSV row by row in Python) for tables that change a few times a year.

Each seed table dbt loaded carries, as its DuckDB table comment, a fingerprint of what it was loaded from: the
file's checksum, the seed's configuration (column types among them) and its columns, as the project's manifest has
them. A run of every node leaves the seeds out of its `dbt build` only when every seed table is there with the
fingerprint of the seed it would load now. A build that loads the seeds takes the marks away first and marks only
the seeds dbt reports loaded, so a load that failed half-way (dbt empties a seed table before it fills it again)
leaves no mark, and a table dbt recreates (a full refresh, a `dbt seed` by hand) has none: the marks err only
towards loading again.

Only the DuckDB target: on Spark the seeds are Parquet tables dbt writes where the build database cannot vouch for
them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from ingestion.sql import ident, literal

MARK = "ndc seed "  # the comment's prefix; the rest is the fingerprint


def seed_fingerprints(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Each seed's unique id -> (schema, table, fingerprint)."""
    seeds = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "seed":
            continue
        what = {"checksum": node["checksum"], "config": node["config"], "columns": node["columns"]}
        digest = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
        seeds[unique_id] = (node["schema"], node["alias"] or node["name"], digest)
    return seeds


def _marks(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(schema, table) -> comment of every table of the build database that carries a seed's mark."""
    rows = con.execute("SELECT schema_name, table_name, comment FROM duckdb_tables() "
                       f"WHERE database_name = current_database() AND starts_with(comment, {literal(MARK)})")
    return {(schema, table): comment for schema, table, comment in rows.fetchall()}


def seeds_unchanged(build_db: Path, fingerprints: Mapping[str, tuple[str, str, str]]) -> bool:
    """True when the build database holds every seed table, each marked with the fingerprint it would load now."""
    if not fingerprints or not build_db.is_file():
        return False
    with duckdb.connect(str(build_db), read_only=True, config={"threads": "1"}) as con:
        marks = _marks(con)
    return all(marks.get((schema, table)) == MARK + digest for schema, table, digest in fingerprints.values())


def unmark(build_db: Path, fingerprints: Mapping[str, tuple[str, str, str]]) -> None:
    """Take the marks away before a build that loads the seeds."""
    if not fingerprints or not build_db.is_file():
        return
    with duckdb.connect(str(build_db), config={"threads": "1"}) as con:
        marked = _marks(con)
        for schema, table, _ in fingerprints.values():
            if (schema, table) in marked:
                con.execute(f"COMMENT ON TABLE {ident(schema)}.{ident(table)} IS NULL")


def mark_loaded(build_db: Path, fingerprints: Mapping[str, tuple[str, str, str]],
                results: Sequence[Mapping[str, Any]]) -> int:
    """Mark each seed dbt loaded in this build (run_results' `success`) with its fingerprint; return how many."""
    loaded = [fingerprints[r["unique_id"]] for r in results
              if r["unique_id"] in fingerprints and r.get("status") == "success"]
    if not loaded:
        return 0
    with duckdb.connect(str(build_db), config={"threads": "1"}) as con:
        for schema, table, digest in loaded:
            con.execute(f"COMMENT ON TABLE {ident(schema)}.{ident(table)} IS {literal(MARK + digest)}")
    return len(loaded)
