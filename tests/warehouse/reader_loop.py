"""A BI reader querying without pause, as a separate process: `python -m tests.warehouse.reader_loop duckdb|postgres
TARGET STOP_FILE [QUERY [PAUSE_S]]` (QUERY defaults to SIGNATURE, PAUSE_S between queries to 0). Each query opens
the serving file afresh (DuckDB) or runs in its own transaction (PostgreSQL), and prints one JSON line:
["ok", observation] or ["error", message]. It stops when STOP_FILE exists.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.warehouse.serving_versions import SIGNATURE

MAX_SECONDS = 900  # a safety stop if the test never creates the stop file


def _duckdb(target: str, query: str):
    import duckdb

    def observe() -> list:
        con = duckdb.connect(target, read_only=True)
        try:
            return list(con.execute(query).fetchone())
        finally:
            con.close()

    return observe


def _postgres(target: str, query: str):
    import psycopg

    con = psycopg.connect(target, autocommit=True)
    return lambda: list(con.execute(query).fetchone())


def main(kind: str, target: str, stop_file: str, query: str = SIGNATURE, pause_s: str = "0") -> None:
    observe = _duckdb(target, query) if kind == "duckdb" else _postgres(target, query)
    deadline = time.monotonic() + MAX_SECONDS
    while not Path(stop_file).exists() and time.monotonic() < deadline:
        try:
            line = ["ok", observe()]
        except Exception as exc:  # every failure is the test's finding, reported rather than raised
            line = ["error", f"{type(exc).__name__}: {exc}"]
        print(json.dumps(line), flush=True)
        time.sleep(float(pause_s))


if __name__ == "__main__":
    main(*sys.argv[1:6])
