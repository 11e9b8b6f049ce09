"""BI readers querying without pause while the warehouse is published again and again see the whole old or the
whole new version, never an error and never a mix: the DuckDB serving file (a fresh read-only connection per query,
from another process) and PostgreSQL (as bi_reader, from another process)."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from tests.support import observations, start_reader, throwaway_database
from tests.warehouse.serving_versions import build_version, consistent
from warehouse.postgres import READER_ROLE, publish_postgres
from warehouse.publish import publish_duckdb

PUBLICATIONS = 8




def test_readers_see_whole_versions_during_repeated_publication(tmp_path: Path):
    build, serving, stop = tmp_path / "build.duckdb", tmp_path / "serving.duckdb", tmp_path / "stop"
    with throwaway_database() as dsn:
        build_version(build, 1)
        publish_duckdb(build, serving)
        publish_postgres(serving, dsn)
        readers = [start_reader("duckdb", str(serving), stop),
                   start_reader("postgres", psycopg.conninfo.make_conninfo(dsn, user=READER_ROLE), stop)]
        try:
            time.sleep(1.0)  # both readers are querying before the first republication
            for version in range(2, PUBLICATIONS + 2):
                build_version(build, version)
                publish_duckdb(build, serving)
                publish_postgres(serving, dsn)
            time.sleep(0.5)
        finally:
            stop.touch()
        seen = {kind: observations(reader) for kind, reader in zip(("duckdb", "postgres"), readers)}
    for kind, lines in seen.items():
        errors = [detail for status, detail in lines if status == "error"]
        assert not errors, f"{kind} reader: {errors[:3]}"
        versions = [consistent(detail) for _, detail in lines]
        assert None not in versions, f"{kind} reader saw a mix: {lines[versions.index(None)]}"
        assert len(set(versions)) >= 3, f"{kind} reader saw too few publications to prove anything: {set(versions)}"
        assert versions[-1] == PUBLICATIONS + 1
