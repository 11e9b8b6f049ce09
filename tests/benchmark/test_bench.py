"""`ndc bench` at sample scale, to keep it working: the figures are not judged here (a loaded CI machine says
nothing about speed), but what the JSON claims is checked: the same records on both sides, no orchestration in
the baseline, the nightly delivery reaching the published facts."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingestion.contracts import FAMILIES
from orchestration.cli import bench_years
from orchestration.fingerprint import dbt_project_state
from tests.support import published_tables, run_ndc, shared

pytestmark = pytest.mark.slow

NDC = Path(sys.executable).parent / "ndc"
KEYS = ("pipeline_wall_s", "baseline_wall_s", "ratio", "fixed_overhead_s", "marginal_ratio", "incremental_wall_s",
        "incremental_ratio", "peak_rss_mib", "records", "machine", "date", "scale", "years", "seed")
STAGES = {"ingest", "dbt build", "gates", "publish"}
EARLIER = "computed by an earlier dbt project"  # a value no build of today's project gives


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path]:
    """One `ndc bench` per test run, shared by the workers whose tests need it."""

    def build(root: Path) -> tuple[dict, Path, Path]:
        out, cache, work = root / "bench.json", root / "cache", root / "work"
        result = subprocess.run(
            [str(NDC), "bench", "--scale", "sample", "--years", "2", "--seed", "7", "--json", str(out),
             "--cache", str(cache), "--workdir", str(work)],
            capture_output=True, text=True, timeout=1800, check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-5000:]
        return json.loads(out.read_text(encoding="utf-8")), cache, work

    return shared(tmp_path_factory, "bench", build)


def test_the_json_carries_every_figure(bench):
    figures, _, _ = bench
    assert set(KEYS) <= set(figures)
    assert figures["scale"] == "sample" and figures["years"] == [2022, 2023] and figures["seed"] == 7
    assert figures["machine"]["cores"] >= 1 and figures["machine"]["ram_gib"] > 0
    for side in ("pipeline", "baseline"):
        stages = figures[side]["stages"]
        assert set(stages) == STAGES, side
        assert all(s["wall_s"] > 0 and s["records_per_s"] > 0 for s in stages.values()), stages
    assert all(s["peak_rss_mib"] > 0 for s in figures["pipeline"]["stages"].values())
    for key in ("pipeline_wall_s", "baseline_wall_s", "ratio", "incremental_wall_s", "incremental_ratio", "peak_rss_mib"):
        assert figures[key] > 0, key
    assert math.isfinite(figures["fixed_overhead_s"])
    # At sample scale the baseline's full and tiny runs can take the same time on a busy machine; the ratio is then
    # reported as unmeasurable (null), never as a number divided by nothing.
    marginal = figures["marginal_ratio"]
    assert marginal is None or (math.isfinite(marginal) and marginal > 0), marginal


def test_both_sides_do_the_same_work_on_the_generated_records(bench):
    figures, cache, _ = bench
    (generated,) = cache.iterdir()
    summary = json.loads((generated / "manifest" / "summary.json").read_text(encoding="utf-8"))
    assert figures["records"] == summary["records"]
    pipeline, baseline = figures["pipeline"], figures["baseline"]
    # Every record delivered in a readable file is read by both, landed or quarantined alike.
    assert pipeline["rows_read"] == baseline["rows_read"] > 0
    assert pipeline["rows_published"] == baseline["rows_published"] > 0
    # Per family too, the quarterly flash reports included: each family's files are read by both sides alike.
    by_family = pipeline["rows_read_by_family"]
    assert by_family == baseline["rows_read_by_family"]
    assert set(by_family) == set(FAMILIES) and sum(by_family.values()) == pipeline["rows_read"]
    for family, read in by_family.items():  # every family read, less what came in rejected files
        assert 0.8 * summary["by_family"][family]["records"] <= read <= summary["by_family"][family]["records"], family
    assert baseline["models"] > 30 and baseline["tests"] > 100 and baseline["gate_statements"] > 50
    assert baseline["test_failures"] == 0
    assert 100 <= figures["tiny"]["records"] <= 1000


def test_the_baseline_imports_no_orchestration(bench):
    figures, _, _ = bench
    assert figures["baseline"]["imported_forbidden_modules"] == []
    assert figures["tiny"]["baseline_imported_forbidden_modules"] == []


def served_keys(serving: Path) -> list[tuple]:
    """Every key and NOT NULL a serving file's published tables carry, in a stable order."""
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            "SELECT schema_name, table_name, constraint_type, constraint_column_names, referenced_table, "
            "referenced_column_names FROM duckdb_constraints() WHERE schema_name IN ('analytics', 'ops') "
            "AND constraint_type <> 'CHECK' ORDER BY ALL").fetchall()


def test_the_baseline_publishes_the_keys_the_pipeline_publishes(bench):
    """Creating the keys is publication work: the bare engine's serving file carries every one of the pipeline's."""
    _, _, work = bench
    pipeline = served_keys(work / "full" / "warehouse" / "serving.duckdb")
    kinds = {kind for _, _, kind, *_ in pipeline}
    assert {"PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "NOT NULL"} <= kinds, kinds
    assert served_keys(work / "full-work" / "baseline" / "db" / "serving.duckdb") == pipeline


def test_the_nightly_delivery_corrects_earlier_years_and_is_published(bench):
    figures, _, work = bench
    nightly = figures["incremental"]
    assert nightly["records"] == math.ceil(figures["records"] * 0.01)
    assert nightly["corrections"] > 0 and nightly["new_filings"] > 0
    assert set(nightly["by_period"]) == {"2022", "2023"}
    # Every delivered record is in the published facts (a correction replacing its filing's row), bar those
    # the contract's rules quarantined.
    nightly_source = "source LIKE '%/nightly_%'"
    with duckdb.connect(str(work / "full" / "warehouse" / "serving.duckdb"), read_only=True) as con:
        published = con.execute(
            f"SELECT (SELECT count(*) FROM analytics.fct_enterprise_annual WHERE {nightly_source}) "
            f"+ (SELECT count(*) FROM analytics.fct_tech_contract WHERE {nightly_source})").fetchone()[0]
        corrected_earlier = con.execute(
            f"SELECT count(*) FROM analytics.fct_enterprise_annual WHERE {nightly_source} AND revision > 1 "
            "AND period = 2022").fetchone()[0]
    with duckdb.connect(str(work / "full" / "warehouse" / "build.duckdb"), read_only=True) as con:
        quarantined = con.execute("SELECT count(*) FROM raw.quarantine WHERE _source LIKE '%/nightly_%'").fetchone()[0]
    assert published == nightly["records"] - quarantined > 0
    assert corrected_earlier > 0


SCOPED_TEST = "unique_combination_mart_sme_evaluation_uscc__period"  # holds enterprise by enterprise


def compiled_test(run_folder: Path, name: str) -> str:
    return next((run_folder / "compiled").rglob(f"{name}*.sql")).read_text(encoding="utf-8")


def nightly_run_folder(home: Path) -> Path:
    """The dbt run folder of the benchmark's nightly refresh: its one build that was not a full refresh."""
    (folder,) = [folder for folder in (home / "dbt" / "runs").iterdir()
                 if not json.loads((folder / "run_results.json").read_text(encoding="utf-8"))["args"].get("full_refresh")]
    return folder


def test_the_nightly_tests_only_the_enterprises_it_computed_again(bench):
    """The full run passed every data test, so the nightly refresh's tests that hold enterprise by enterprise took only
    the enterprises it computed again (dbt_project/macros/test_scope.sql); it passed them all and recorded so."""
    _, _, work = bench
    home = work / "full"
    assert "mart_sme_evaluation__touched" in compiled_test(nightly_run_folder(home), SCOPED_TEST)
    with duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM main.ndc_tested").fetchone() == (1,)


@pytest.fixture(scope="session")
def rebuilt(bench, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """The nightly refresh's home copied without its serving file, Dagster instance and dbt runs, its build database
    made as an earlier dbt project would have left it (another project recorded, one fact row computed otherwise),
    then a plain `ndc run --quiet`: a changed project rebuilds every model whole (orchestration/build_mark.py), so
    this run is the full rebuild of the same landed filings. It runs dbt on one thread (the nightly ran on the
    default two), so comparing the two also checks that models built side by side build the same tables."""
    _, _, work = bench

    def build(root: Path) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
        nightly, home = work / "full", root / "rebuilt"
        shutil.copytree(nightly, home, ignore=shutil.ignore_patterns("serving.duckdb*", "dagster", "dbt"))
        with duckdb.connect(str(home / "warehouse" / "build.duckdb")) as con:
            con.execute("UPDATE main.ndc_build SET project_state = 'an earlier dbt project'")
            con.execute(f"UPDATE analytics.fct_enterprise_annual SET hte_cert_no = '{EARLIER}' "
                        "WHERE filing_id = (SELECT min(filing_id) FROM analytics.fct_enterprise_annual)")
        return nightly, home, run_ndc(home, "run", "--quiet", env={"NDC_DBT_THREADS": "1"})

    return shared(tmp_path_factory, "bench-rebuilt", build)


def test_a_changed_dbt_project_rebuilds_the_incremental_facts_whole(rebuilt):
    _, home, run = rebuilt
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    # The copy has no Dagster instance: a quiet first run prints nothing on stderr, Dagster's telemetry notice included.
    assert run.stderr == ""
    with duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True) as con:
        (stale,) = con.execute("SELECT count(*) FROM analytics.fct_enterprise_annual WHERE hte_cert_no = ?",
                               [EARLIER]).fetchone()
        recorded = con.execute("SELECT project_state FROM main.ndc_build").fetchall()
    assert stale == 0, "a fact row computed by another dbt project survived the run"
    assert recorded == [(dbt_project_state(),)]
    # The copy records that the nightly passed every test, but a whole rebuild tests every row.
    (run_folder,) = (home / "dbt" / "runs").iterdir()
    assert "__touched" not in compiled_test(run_folder, SCOPED_TEST)


def test_ndc_dbt_threads_reaches_dbt(rebuilt):
    """The nightly ran on the default two threads, the rebuild on the one NDC_DBT_THREADS asked for."""
    nightly, home, run = rebuilt
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    (log,) = (home / "dbt" / "runs").glob("*/dbt.log")
    assert "Concurrency: 1 threads (target='duckdb')" in log.read_text(encoding="utf-8")
    log = nightly_run_folder(nightly) / "dbt.log"
    assert "Concurrency: 2 threads (target='duckdb')" in log.read_text(encoding="utf-8")


def test_the_nightly_refresh_publishes_exactly_what_a_full_rebuild_publishes(rebuilt):
    """The nightly refresh (the benchmark's scenario: new filings and corrections to both years, then `ndc run`,
    which rebuilds the incremental facts only where filings arrived) against a full rebuild over the same landed
    filings: every published table the same, row for row."""
    nightly, home, run = rebuilt
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    incremental = published_tables(nightly / "warehouse" / "serving.duckdb")
    full = published_tables(home / "warehouse" / "serving.duckdb")
    assert set(incremental) == set(full) and len(full) > 20
    differing = {table: (incremental[table], full[table]) for table in full if incremental[table] != full[table]}
    assert not differing, f"tables the nightly refresh published otherwise than a full rebuild (rows:hash): {differing}"


@pytest.mark.parametrize(("text", "years"), [("1", range(2023, 2024)), ("5", range(2019, 2024)),
                                             ("2021-2022", range(2021, 2023)), ("2020", range(2020, 2021))])
def test_years_are_a_count_or_a_range(text, years):
    assert bench_years(text) == years
