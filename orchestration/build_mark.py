"""Which dbt project the incremental models of a build database were built by, so that a new one rebuilds them.

An incremental model (the facts, the latest filings) keeps every row it does not process again, as the project of
the run that wrote the row computed it: its dimension keys, its flags, its thresholds. A run under a changed
project (a model, a macro, a reference seed, a var, dbt or DuckDB upgraded) would otherwise leave the old rows as
they were beside new ones computed otherwise: numbers that a full rebuild would not publish.

So the build database records the project its models were last built by, whole and without a failure: a table
`main.ndc_build` holding `fingerprint.dbt_project_state()`. A build of every node on DuckDB compares it with the
project now, and when they differ (or none is recorded) it rebuilds every model whole (dbt's `--full-refresh`)
and records the project only once that build succeeded. The record is removed before such a build starts, so a
build that fails or is killed half-way leaves none, and the next run rebuilds whole again. A home's first build
has nothing to compare with and builds whole anyway.

It also records whether that build passed every data test (`main.ndc_tested`), which lets the next build test
only the rows it changed (dbt_project/macros/test_scope.sql): a row a build left unchanged still passes the tests
it passed. The record is removed before every build of the DuckDB target and written again only after a build of
every node that built every model and passed every test, so a failure, a kill or a selection leaves none and the
next build tests every row.

Only the DuckDB target: on Spark the models are tables the build database does not hold (and plain Parquet facts
are rebuilt whole on every run). A build of a selection (the UI's) neither rebuilds whole nor records, since it
builds only some of the models; under another project it takes the record away (those models are then built by
one project, the others by another).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

TABLE = "main.ndc_build"
TESTED = "main.ndc_tested"
# A node that did not leave its model as the project now computes it (run_results.json statuses).
NOT_BUILT = ("error", "fail", "runtime error", "skipped")


def _connect(build_db: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    # One thread: the records are one-row tables.
    return duckdb.connect(str(build_db), read_only=read_only, config={"threads": "1"})


def built_with(build_db: Path) -> str | None:
    """The project state the build database's models were last built by whole, or None when none is recorded."""
    if not build_db.is_file():
        return None
    with _connect(build_db, read_only=True) as con:
        try:
            row = con.execute(f"SELECT project_state FROM {TABLE}").fetchone()
        except duckdb.CatalogException:  # never recorded, or taken away
            return None
    return row[0] if row else None


def forget(build_db: Path) -> None:
    """Before a build that rebuilds whole: until it succeeds, no project is vouched for."""
    if build_db.is_file():
        with _connect(build_db) as con:
            con.execute(f"DROP TABLE IF EXISTS {TABLE}")


def built_every_model(results: Sequence[Mapping[str, Any]]) -> bool:
    """Whether dbt's results show every model and seed it was given built (none failed, none skipped)."""
    built = [r for r in results if r.get("unique_id", "").startswith(("model.", "seed."))]
    return bool(built) and all(r.get("status") not in NOT_BUILT for r in built)


def record(build_db: Path, state: str, run_id: str) -> None:
    """After a build of every model without a failure: the project it was built by."""
    with _connect(build_db) as con:
        con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT ?::VARCHAR AS project_state, ?::VARCHAR AS run_id, "
                    "now() AS built_at", [state, run_id])


def take_tests_record(build_db: Path) -> bool:
    """Whether the build database's last build built every model and passed every data test. The record is removed
    at once: the build about to start changes rows no test has passed yet."""
    if not build_db.is_file():
        return False
    with _connect(build_db) as con:
        try:
            passed = con.execute(f"SELECT count(*) FROM {TESTED}").fetchone()[0] == 1
        except duckdb.CatalogException:
            return False
        con.execute(f"DROP TABLE {TESTED}")
    return passed


def all_tests_passed(results: Sequence[Mapping[str, Any]]) -> bool:
    """Whether dbt's results show data tests run and every one passed (a warning is not a pass, nor a test skipped
    after its model failed)."""
    tests = [r for r in results if r.get("unique_id", "").startswith("test.")]
    return bool(tests) and all(r.get("status") == "pass" for r in tests)


def record_tests(build_db: Path, run_id: str) -> None:
    """After a build of every node that built every model and passed every test."""
    with _connect(build_db) as con:
        con.execute(f"CREATE OR REPLACE TABLE {TESTED} AS SELECT ?::VARCHAR AS run_id, now() AS tested_at", [run_id])
