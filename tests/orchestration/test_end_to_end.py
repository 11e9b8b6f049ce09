"""The whole pipeline through the real `ndc` command: file drops in, gated publication out."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from orchestration.cli import EXIT_SETTINGS
from tests.support import (
    shared,
    BlockedRun,
    PublishedSample,
    free_port,
    run_ndc,
    schema_checksum,
    serving_counts,
    sha256,
)
from tests.warehouse.serving_versions import build_version
from warehouse.publish import publish_duckdb

pytestmark = pytest.mark.slow


def test_the_sample_publishes_analytics_to_both_serving_copies(published_sample: PublishedSample):
    first = published_sample.run
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert "PUBLISHED" in first.stdout
    counts = serving_counts(published_sample.home)
    assert counts["analytics.fct_enterprise_annual"] > 0
    assert counts["analytics.dim_enterprise"] > 0
    assert not any(name.startswith(("raw.", "staging.", "intermediate.")) for name in counts), "BI sees only analytics"
    with psycopg.connect(published_sample.postgres_dsn) as con:
        for table in ("fct_enterprise_annual", "dim_enterprise"):
            rows = con.execute(f"SELECT count(*) FROM analytics.{table}").fetchone()[0]
            assert rows == counts[f"analytics.{table}"]


def test_each_runs_dbt_results_and_log_stay_in_ndc_home(published_sample: PublishedSample):
    # dbt's compiled SQL, results and log belong to the run's data, not to the code checkout.
    runs = [p for p in (published_sample.home / "dbt" / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    assert (runs[0] / "run_results.json").exists() and (runs[0] / "dbt.log").exists()
    assert f"dbt's compiled SQL, results and log for this run: {runs[0]}" in published_sample.run.stdout + \
        published_sample.run.stderr


def blocked_run_changes_nothing(home: Path, published: PublishedSample) -> subprocess.CompletedProcess[str]:
    """Run again after a bad change: exit 1, and both serving copies exactly as they were."""
    serving = home / "warehouse" / "serving.duckdb"
    before = sha256(serving), schema_checksum(published.postgres_dsn)
    blocked = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": published.postgres_dsn})
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr[-3000:]
    assert "NOT PUBLISHED" in blocked.stdout
    assert (sha256(serving), schema_checksum(published.postgres_dsn)) == before
    return blocked


def test_a_blocked_run_changes_neither_serving_copy(blocked_sample: BlockedRun):
    run = blocked_sample.run
    assert run.returncode == 1, run.stdout + run.stderr[-3000:]
    assert "NOT PUBLISHED" in run.stdout
    assert blocked_sample.serving_after == blocked_sample.serving_before
    assert blocked_sample.postgres_after == blocked_sample.postgres_before


def test_a_bad_delivery_is_blocked_by_a_published_model_gate(blocked_sample: BlockedRun):
    assert "gx_fct_enterprise_annual" in blocked_sample.run.stdout
    assert "one_report_per_enterprise_and_year: 1 unexpected rows" in blocked_sample.run.stdout


def test_wrong_raw_data_is_blocked_before_anything_is_built(published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    batch = sorted((home / "raw" / "enterprise").glob("*/files__*.parquet"))[0]
    table = pq.read_table(batch)
    employees = table.column("employees")
    broken = pc.add(pc.fill_null(employees, 0), 1)  # st_staff above employees on every row of the batch
    table = table.set_column(table.schema.get_field_index("st_staff"), "st_staff", broken.cast(pa.int64()))
    pq.write_table(table, batch)
    blocked = blocked_run_changes_nothing(home, published_sample)
    assert "gx_raw_enterprise" in blocked.stdout
    assert f"contract_ranges_and_rules: {table.num_rows} unexpected rows" in blocked.stdout
    assert "dbt build" not in blocked.stdout.split("timings:")[-1], "dbt must not build from rejected raw data"


def test_a_failing_dbt_test_blocks_publication_naming_the_test_and_its_failing_rows(
        published_sample: PublishedSample, tmp_path: Path):
    # The ledger says a landed delivery read 5 rows more than it landed or quarantined: no gate on raw looks at
    # that, dbt's `rows_read_are_accounted_for` test on ops.ingest_accounting does.
    home = published_sample.copy_to(tmp_path / "ndc")
    ledger = home / "raw" / "_deliveries" / "zone.jsonl"
    entries = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    next(e for e in entries if e["status"] == "landed")["rows_read"] += 5
    ledger.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    blocked = blocked_run_changes_nothing(home, published_sample)
    assert "ops/ingest_accounting: dbt_tests" in blocked.stdout
    assert "rows_read_are_accounted_for_ingest_accounting_: 1 failing row" in blocked.stdout
    assert "failed steps:" not in blocked.stdout, "the failing test is the reason given, not dbt's exit code"


@dataclass(frozen=True)
class EmptyHome:
    """An NDC_HOME with nothing delivered whose serving file held 100 rows in each of two tables: the plain run,
    then the run with `--allow-shrink`."""
    home: Path
    before: str  # the serving file's digest before the runs
    after_blocked: str
    blocked: subprocess.CompletedProcess[str]
    forced: subprocess.CompletedProcess[str]


@pytest.fixture(scope="session")
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> EmptyHome:
    """Built once per test run (two runs), shared by the workers that need it."""

    def build(folder: Path) -> EmptyHome:
        home = folder / "empty"
        serving = home / "warehouse" / "serving.duckdb"
        build_version(folder / "build.duckdb", 1)  # what BI reads now: 100 rows in each of two tables
        publish_duckdb(folder / "build.duckdb", serving)
        before = sha256(serving)
        blocked = run_ndc(home, "run")
        after_blocked = sha256(serving)
        return EmptyHome(home, before, after_blocked, blocked, run_ndc(home, "run", "--allow-shrink"))

    return shared(tmp_path_factory, "empty-home", build)


def test_a_family_with_nothing_delivered_still_publishes(empty_home: EmptyHome):
    forced = empty_home.forced
    assert forced.returncode == 0, forced.stdout + forced.stderr[-3000:]
    assert serving_counts(empty_home.home)["analytics.fct_enterprise_annual"] == 0
    assert "warnings (reported, not blocking)" in forced.stdout and "has_deliveries" in forced.stdout


def test_an_empty_home_does_not_wipe_the_served_warehouse_unless_allowed(empty_home: EmptyHome):
    blocked = empty_home.blocked
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr[-3000:]
    assert "NOT PUBLISHED" in blocked.stdout
    assert "BLOCKED step published__serving_duckdb" in blocked.stdout
    assert "analytics.facts from 100 to 0 rows (-100%)" in blocked.stdout and "--allow-shrink" in blocked.stdout
    assert empty_home.after_blocked == empty_home.before
    forced = empty_home.forced
    assert forced.returncode == 0, forced.stdout + forced.stderr[-3000:]
    counts = serving_counts(empty_home.home)
    assert counts["analytics.fct_enterprise_annual"] == 0 and "analytics.facts" not in counts


def test_the_postgres_password_reaches_no_output_and_no_file_of_the_run(tmp_path: Path):
    home, password = tmp_path / "empty", "pw-never-shown-7d1c"
    # A DSN libpq cannot parse, which it quotes whole in its error: refused before any work, in one line.
    dsn = f"postgresql://ndc:{password}@[127.0.0.1:{free_port()}/ndc"
    result = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": dsn})
    assert result.returncode == EXIT_SETTINGS, result.stdout + result.stderr[-3000:]
    assert "NDC_PUBLISH_POSTGRES_DSN is no DSN libpq can read" in result.stderr
    assert password not in result.stdout + result.stderr
    leaks = [p for p in home.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert not leaks, leaks
