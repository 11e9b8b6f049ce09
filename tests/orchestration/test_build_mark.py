"""The build database's record of the dbt project its incremental models were built by (orchestration/build_mark.py)
and the decision it drives: a build under another project rebuilds every model whole. Its record that the last
build passed every data test, and the decision that one drives: the next build's tests that hold enterprise by
enterprise take only the enterprises it computes again (dbt_project/macros/test_scope.sql; the dbt side is in
tests/dbt/test_latest_filings.py). The whole run is in
tests/benchmark/test_bench.py (a fact row computed by an earlier project does not survive a plain `ndc run`)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestration import build_mark
from orchestration.defs.dbt import _rebuild_whole, _tests_scoped
from orchestration.fingerprint import dbt_project_state

NOW = dbt_project_state()


def _database(path: Path, recorded: str | None) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA analytics; CREATE TABLE analytics.fct AS SELECT 1 AS filing_id")
    if recorded is not None:
        build_mark.record(path, recorded, "run-1")
    return path


def _decide(build_db: Path, *, subset: bool = False, asked: bool = False, spark: bool = False):
    logger = logging.getLogger("test_build_mark")
    context = SimpleNamespace(is_subset=subset, log=logger)
    settings = SimpleNamespace(build_db=build_db, builds_on_spark=spark)
    return _rebuild_whole(context, settings, asked)


def test_the_record_holds_the_project_and_a_build_database_without_one_has_none(tmp_path: Path):
    assert build_mark.built_with(tmp_path / "absent.duckdb") is None
    db = _database(tmp_path / "build.duckdb", None)
    assert build_mark.built_with(db) is None
    build_mark.record(db, "project A", "run-1")
    build_mark.record(db, "project B", "run-2")
    assert build_mark.built_with(db) == "project B"
    build_mark.forget(db)
    assert build_mark.built_with(db) is None
    with duckdb.connect(str(db), read_only=True) as con:  # the models are untouched
        assert con.execute("SELECT filing_id FROM analytics.fct").fetchall() == [(1,)]


@pytest.mark.parametrize(("statuses", "every_model"), [
    ({"model.ndc.a": "success", "seed.ndc.s": "success", "test.ndc.t": "fail"}, True),  # data failing: models built
    ({"model.ndc.a": "success", "model.ndc.b": "skipped", "test.ndc.t": "fail"}, False),  # b skipped after a test
    ({"model.ndc.a": "error"}, False),
    ({}, False),  # dbt stopped before it wrote any result
])
def test_only_a_build_that_built_every_model_is_recorded(statuses, every_model):
    results = [{"unique_id": uid, "status": status} for uid, status in statuses.items()]
    assert build_mark.built_every_model(results) is every_model


def test_a_build_under_another_project_rebuilds_whole_and_says_why(tmp_path: Path, caplog):
    db = _database(tmp_path / "build.duckdb", "an earlier project")
    with caplog.at_level(logging.WARNING, logger="test_build_mark"):
        assert _decide(db) == (True, NOW)
    assert "every model is rebuilt whole" in caplog.text
    assert build_mark.built_with(db) is None, "a rebuild that fails half-way must leave no project vouched for"


def test_a_build_under_the_recorded_project_stays_incremental(tmp_path: Path):
    db = _database(tmp_path / "build.duckdb", NOW)
    assert _decide(db) == (False, NOW)
    assert _decide(db, asked=True) == (True, NOW)
    assert build_mark.built_with(db) == NOW


def test_a_first_build_and_a_spark_build_decide_nothing(tmp_path: Path):
    assert _decide(tmp_path / "absent.duckdb") == (False, NOW)  # builds whole anyway, then records
    db = _database(tmp_path / "build.duckdb", "an earlier project")
    assert _decide(db, spark=True) == (False, None)
    assert build_mark.built_with(db) == "an earlier project"


def test_a_selection_built_under_another_project_takes_the_record_away(tmp_path: Path):
    # Some models of the selection are then built by this project and the others not: only a whole build vouches.
    db = _database(tmp_path / "build.duckdb", "an earlier project")
    assert _decide(db, subset=True) == (False, None)
    assert build_mark.built_with(db) is None
    same = _database(tmp_path / "same.duckdb", NOW)
    assert _decide(same, subset=True) == (False, None)
    assert build_mark.built_with(same) == NOW


@pytest.mark.parametrize(("statuses", "passed"), [
    ({"model.ndc.a": "success", "seed.ndc.s": "success", "test.ndc.t": "pass", "test.ndc.u": "pass"}, True),
    ({"model.ndc.a": "success", "test.ndc.t": "pass", "test.ndc.u": "warn"}, False),  # its failing rows stay
    ({"model.ndc.a": "success", "test.ndc.t": "fail"}, False),
    ({"model.ndc.a": "success", "test.ndc.t": "error"}, False),
    ({"model.ndc.a": "error", "test.ndc.t": "skipped"}, False),
    ({"model.ndc.a": "success"}, False),  # no test ran
])
def test_only_a_build_that_passed_every_test_is_recorded_as_tested(statuses, passed):
    results = [{"unique_id": uid, "status": status} for uid, status in statuses.items()]
    assert build_mark.all_tests_passed(results) is passed


def _scoped(build_db: Path, project: str | None = NOW, full_refresh: bool = False) -> bool:
    return _tests_scoped(SimpleNamespace(build_db=build_db), project, full_refresh)


def test_tests_take_only_the_changes_after_a_build_that_passed_every_test(tmp_path: Path):
    db = _database(tmp_path / "build.duckdb", NOW)
    assert not _scoped(db), "a build database that records no tested build is tested whole"
    build_mark.record_tests(db, "run-1")
    assert _scoped(db)
    # The record is taken by the build that reads it: if that build fails, is killed or fails a test, it never
    # records, and the one after it tests every row again.
    assert not _scoped(db)
    assert not _scoped(tmp_path / "absent.duckdb")


@pytest.mark.parametrize(("project", "full_refresh"), [(None, False), (NOW, True)])
def test_a_selection_a_spark_build_and_a_full_rebuild_test_every_row_and_take_the_record(
        tmp_path: Path, project, full_refresh):
    db = _database(tmp_path / "build.duckdb", NOW)
    build_mark.record_tests(db, "run-1")
    assert not _scoped(db, project, full_refresh)
    assert not _scoped(db), "rows built without the record vouching for them must be tested whole next time"
