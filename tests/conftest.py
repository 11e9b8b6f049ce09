"""The scenarios many tests assert on, each built once per test run from the same seeded sample, and shared by
pytest-xdist's workers (the first to need one builds it under a file lock; the others wait and read it). The helpers
they use are in `tests/support.py`.

- `sample_landing`: the generated file drops for two years.
- `published_sample`: NDC_HOME after one real `ndc run` over the sample, published to DuckDB and to a throwaway
  PostgreSQL database.
- `blocked_sample`: a copy of it after a second run that a bad delivery blocked: a report delivered twice under two
  filing ids (a published-model gate) and a landed record gone from raw (the reconciliation gate).
- `corrected_sample`: a copy of it after a later revision of a 2022 report arrived in a 2024 province-day file
  (and a killed publication left its temporary file), then a backfill of 2023 with `--quiet` (which must leave
  2022 alone, clean up and print nothing on stderr) and one of 2022 (which must take the correction), both with
  dbt's log file at debug.

A scenario's home is never changed by a test: a test that needs to change one works on a copy.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from simulator.generate import generate
from tests.support import (
    shared,
    shared_root,
    CORRECTED_HIGHTECH_REVENUE,
    CORRECTED_REVENUE,
    BlockedRun,
    CorrectedYear,
    SAMPLE_SEED,
    SAMPLE_YEARS,
    PublishedSample,
    as_cell,
    deliver,
    duplicate_report_delivery,
    latest_filing,
    run_ndc,
    create_database,
    drop_database,
    dsn_for,
    schema_checksum,
    sha256,
)

# pyspark (installed for the Spark target) takes a `__main__` without a file for a doctest run and exits the process
# when Great Expectations imports it; pytest-xdist's workers start from `python -c`, so give their `__main__` a name.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest worker>"


DATABASES = "databases.txt"  # the PostgreSQL databases the shared scenarios made, dropped when the run ends


# The tests that take minutes each (Spark parity, the kill test, the benchmark), started first and on different
# workers, so that none of them is the run's tail. xdist's work stealing hands each worker a contiguous share of the
# list (`len(left) // workers_left` items, in order) and steals from the shares' ends: placed at the heads of the
# shares, these start at once and stay where they are.
FIRST = ("tests/dbt/test_spark_parity.py::test_spark_builds_the_same_warehouse",
         "tests/reliability/test_kill_run.py::",
         "tests/benchmark/test_bench.py::")


def pytest_configure(config: pytest.Config) -> None:
    """NDC_TEST_CPU_REPORT=<file>: each test's CPU, one JSON line per test (tests/cpu_report.py)."""
    report = os.environ.get("NDC_TEST_CPU_REPORT")
    if report:
        from tests.cpu_report import CpuReport

        config.pluginmanager.register(CpuReport(Path(report)), "ndc-cpu-report")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for n, prefix in enumerate(FIRST):
        heads[n % workers].extend(item for item in items if item.nodeid.startswith(prefix))
    placed = {id(item) for head in heads for item in head}
    rest = [item for item in items if id(item) not in placed]
    order: list[pytest.Item] = []
    for k, head in enumerate(heads):
        share = max(len(head), (len(items) - len(order)) // (workers - k))
        taken = share - len(head)
        order += head + rest[:taken]
        rest = rest[taken:]
    items[:] = order + rest


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The process that ran the whole test run (xdist's controller, or pytest alone) drops the scenarios'
    databases once no worker needs them."""
    if hasattr(session.config, "workerinput"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    listed = shared_root(factory) / DATABASES if factory else None
    if listed and listed.exists():
        for name in listed.read_text().split():
            drop_database(name)


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated file drops for two years (seeded), written once per run; copy before changing."""

    def build(folder: Path) -> Path:
        generate(folder, "sample", SAMPLE_YEARS, SAMPLE_SEED)
        return folder / "landing"

    return shared(tmp_path_factory, "sample", build)


@pytest.fixture
def ndc_home(tmp_path: Path, sample_landing: Path) -> Path:
    """A fresh NDC_HOME holding a copy of the sample's landing folder."""
    home = tmp_path / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    return home


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory: pytest.TempPathFactory, sample_landing: Path) -> PublishedSample:
    """NDC_HOME after one real `ndc run` over the sample (all four families), published to DuckDB and to a throwaway
    PostgreSQL database; a test that changes it works on `copy_to`."""

    def build(folder: Path) -> PublishedSample:
        home = folder / "ndc"
        shutil.copytree(sample_landing, home / "landing")
        database = create_database()
        with (shared_root(tmp_path_factory) / DATABASES).open("a") as listed:
            listed.write(database + "\n")
        result = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": dsn_for(database)})
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        return PublishedSample(home, result, dsn_for(database))

    return shared(tmp_path_factory, "published", build)


@pytest.fixture(scope="session")
def blocked_sample(published_sample: PublishedSample, tmp_path_factory: pytest.TempPathFactory) -> BlockedRun:
    return shared(tmp_path_factory, "blocked", lambda folder: _blocked(published_sample, folder))


def _blocked(published_sample: PublishedSample, folder: Path) -> BlockedRun:
    home = published_sample.copy_to(folder / "ndc")
    duplicate_report_delivery(home)
    victim = next(p for p in sorted((home / "raw" / "contract").rglob("files__*.parquet"))
                  if pq.read_metadata(p).num_rows > 1)
    table = pq.read_table(victim)
    pq.write_table(table.slice(1), victim)  # one landed record silently gone
    serving = home / "warehouse" / "serving.duckdb"
    before = sha256(serving), schema_checksum(published_sample.postgres_dsn)
    run = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": published_sample.postgres_dsn})
    after = sha256(serving), schema_checksum(published_sample.postgres_dsn)
    return BlockedRun(home, run, before[0], after[0], before[1], after[1], table.column("filing_id")[0].as_py())


def _fact_revision(home: Path, filing_id: str) -> int:
    with duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True) as con:
        return con.execute("SELECT revision FROM analytics.fct_enterprise_annual WHERE filing_id = ?",
                           [filing_id]).fetchone()[0]


@pytest.fixture(scope="session")
def corrected_sample(published_sample: PublishedSample, tmp_path_factory: pytest.TempPathFactory) -> CorrectedYear:
    return shared(tmp_path_factory, "corrected", lambda folder: _corrected(published_sample, folder))


def _corrected(published_sample: PublishedSample, folder: Path) -> CorrectedYear:
    home = published_sample.copy_to(folder / "ndc")
    record = latest_filing(home / "warehouse" / "build.duckdb", 2022)
    with duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True) as con:
        (facts,) = con.execute("SELECT count(*) FROM analytics.fct_enterprise_annual").fetchone()
    corrected = {**record, "revision": record["revision"] + 1, "submitted_at": "2024-03-01T10:00:00+08:00",
                 "revenue": CORRECTED_REVENUE, "hightech_revenue": CORRECTED_HIGHTECH_REVENUE}
    # The correction of 2022 arrives in a 2024 province-day file, in the 2023 folder.
    deliver(home, "enterprise", 2023, f"{record['region_code'][:2]}0000_20240301.csv",
            [{k: as_cell(v) for k, v in corrected.items()}])
    # A publication killed earlier left its temporary file and log beside the serving file.
    leftover = home / "warehouse" / ".serving.duckdb.0123456789abcdef.tmp"
    leftover.write_bytes(b"half a serving file")
    leftover.with_name(leftover.name + ".wal").write_bytes(b"and its log")
    debug = {"DBT_LOG_LEVEL_FILE": "debug"}  # dbt's own variable: its log file says how it parsed the project
    other_year = run_ndc(home, "run", "--years", "2023", "--quiet", env=debug)  # quiet: its stderr must stay empty
    after_other = _fact_revision(home, record["filing_id"]) if other_year.returncode == 0 else -1
    warehouse = sorted(p.name for p in (home / "warehouse").iterdir())
    backfill = run_ndc(home, "run", "--years", "2022", env=debug)
    return CorrectedYear(home, record["filing_id"], record["uscc"], record["revision"], corrected["revision"],
                         other_year, after_other, backfill, facts, warehouse)
