"""The reference seeds are loaded into the build database only when they changed (orchestration/seeds.py)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import duckdb

from orchestration.defs.dbt import manifest
from orchestration.seeds import MARK, mark_loaded, seed_fingerprints, seeds_unchanged, unmark
from tests.support import CorrectedYear, PublishedSample


def dbt_results(home: Path) -> list[list[dict]]:
    """Each dbt build's results in the home, oldest first."""
    files = sorted((home / "dbt" / "runs").glob("*/run_results.json"), key=lambda p: p.stat().st_mtime)
    return [json.loads(p.read_bytes())["results"] for p in files]


def seed_rows(build_db: Path) -> dict[str, int]:
    with duckdb.connect(str(build_db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'reference'")
                  .fetchall()]
        return {t: con.execute(f'SELECT count(*) FROM reference."{t}"').fetchone()[0] for t in tables}


def test_a_run_loads_the_seeds_once_and_later_runs_build_on_them(
        published_sample: PublishedSample, corrected_sample: CorrectedYear):
    seeds = seed_fingerprints(manifest())
    assert len(seeds) > 10
    (first,) = dbt_results(published_sample.home)
    assert {r["unique_id"] for r in first if r["unique_id"].startswith("seed.")} == set(seeds)
    assert all(r["status"] == "success" for r in first if r["unique_id"] in seeds)
    # The copy's two year runs after it (2023, then 2022) left the seeds as the first run loaded them, and ran
    # their tests all the same.
    for later in dbt_results(corrected_sample.home)[-2:]:
        ran = {r["unique_id"] for r in later}
        assert not ran & set(seeds)
        assert any(t.startswith("test.ndc.") and "ref_" in t for t in ran)
    assert seed_rows(corrected_sample.home / "warehouse" / "build.duckdb") == \
        seed_rows(published_sample.settings.build_db)
    assert seeds_unchanged(corrected_sample.home / "warehouse" / "build.duckdb", seeds)


def test_a_changed_seed_or_a_half_done_load_is_loaded_again(published_sample: PublishedSample, tmp_path: Path):
    build = tmp_path / "build.duckdb"
    shutil.copyfile(published_sample.settings.build_db, build)
    seeds = seed_fingerprints(manifest())
    assert seeds_unchanged(build, seeds)
    assert not seeds_unchanged(tmp_path / "missing.duckdb", seeds)

    # Another file, or other column types for the same file: another fingerprint, so the seeds load again.
    edited = copy.deepcopy(dict(manifest()))
    some_id = sorted(seeds)[0]
    edited["nodes"][some_id]["config"]["column_types"] = {"code": "varchar(12)"}
    assert seed_fingerprints(edited)[some_id] != seeds[some_id]
    assert not seeds_unchanged(build, seed_fingerprints(edited))

    # A build that loads the seeds takes the marks away first; dbt failing half-way through one leaves it unmarked.
    unmark(build, seeds)
    assert not seeds_unchanged(build, seeds)
    results = [{"unique_id": uid, "status": "success"} for uid in seeds]
    results[0]["status"] = "error"
    assert mark_loaded(build, seeds, results) == len(seeds) - 1
    assert not seeds_unchanged(build, seeds)
    assert mark_loaded(build, seeds, [{"unique_id": results[0]["unique_id"], "status": "success"}]) == 1
    assert seeds_unchanged(build, seeds)
    schema, table, digest = seeds[some_id]
    with duckdb.connect(str(build), read_only=True) as con:
        (comment,) = con.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                                 [schema, table]).fetchone()
    assert comment == MARK + digest
