"""What the tests share, in one place: the real `ndc` command and its outputs, file drops, the real PostgreSQL with
a throwaway database per use, the stand-in reporting API as an operator starts it, and the readers BI would be.

Fixtures live in the conftest files; the scenarios they build (a published sample, a blocked delivery, a corrected
earlier year) are described there. PostgreSQL is the machine's server at 127.0.0.1:5432 (trust auth, user postgres);
`NDC_TEST_POSTGRES_DSN` points the tests at another server's maintenance database.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import duckdb
import psycopg
import pytest
import requests
from filelock import FileLock
from psycopg import sql

from ingestion.contracts import ENTERPRISE, FAMILIES
from ingestion.landing import RawStore, refresh_raw_schema
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, Settings

NDC = Path(sys.executable).parent / "ndc"
DBT = Path(sys.executable).parent / "dbt"
SAMPLE_YEARS = range(2022, 2024)
SAMPLE_SEED = 7
# The quarterly flash reports' dbt models (tag `quarterly`), Dagster assets partitioned by quarter.
QUARTERLY_MODELS = {"staging/stg_files__quarterly", "staging/stg_api__quarterly",
                    "intermediate/int_quarterly__latest_filings", "intermediate/int_quarterly__reports",
                    "analytics/fct_quarterly_report", "analytics/mart_quarterly_zone_economy",
                    "analytics/mart_quarterly_region_economy"}


# ---- the real command line ----

def run_ndc(home: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator runs it."""
    environment = {**os.environ, "NDC_HOME": str(home), **(env or {})}
    return subprocess.run([str(NDC), *args], env=environment, capture_output=True, text=True, timeout=timeout)


def run_dbt(home: Path, target: Path, *args: str, env: dict[str, str] | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """dbt itself on the project, against `home`'s build database. Its artifacts and log go under `target`, not the
    project's target/, which holds the manifest other tests' code locations read meanwhile."""
    command = [str(DBT), *args, "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(target), "--log-path", str(target / "logs")]
    environment = {**os.environ, "NDC_HOME": str(home), **(env or {})}
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=timeout)


@dataclass(frozen=True)
class PublishedSample:
    home: Path  # NDC_HOME after one passing `ndc run`: never change it, copy it
    run: subprocess.CompletedProcess[str]  # the `ndc run` that published it
    postgres_dsn: str  # the throwaway database it also published to

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home)

    def copy_to(self, target: Path) -> Path:
        """A copy of the published NDC_HOME to change: later runs land, build and publish from there."""
        shutil.copytree(self.home, target)
        return target


@dataclass(frozen=True)
class BlockedRun:
    home: Path  # the copy the blocked run worked on
    run: subprocess.CompletedProcess[str]  # the `ndc run` a gate blocked
    serving_before: str  # sha256 of serving.duckdb before the run
    serving_after: str
    postgres_before: str  # schema_checksum of the published PostgreSQL schema before the run
    postgres_after: str
    vanished_filing: str  # the contract record taken out of raw after it was landed


@dataclass(frozen=True)
class CorrectedYear:
    home: Path
    filing_id: str  # the 2022 report corrected
    uscc: str
    revision: int  # its revision before the correction
    corrected_revision: int
    other_year: subprocess.CompletedProcess[str]  # `ndc run --years 2023 --quiet` once the correction arrived
    revision_after_other_year: int  # the published fact's revision after that run
    backfill: subprocess.CompletedProcess[str]  # then `ndc run --years 2022`
    facts_before: int  # fct_enterprise_annual's rows before the correction
    warehouse_after_other_year: list[str]  # the files in warehouse/ after the first run, which found a killed
    # publication's temporary file and its log there


def deliver(home: Path, family: str, period: int, file_name: str, records: list[dict]) -> Path:
    """A province's CSV file drop of `records` (contract keys to values; None is an empty cell), with the Chinese
    headers of the keys the first record carries, written to landing/{family}/{period}/{file_name}."""
    contract = FAMILIES[family]
    keys = list(records[0])
    target = home / "landing" / family / str(period) / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([contract.field(k).header for k in keys])
        writer.writerows([["" if r[k] is None else r[k] for k in keys] for r in records])
    return target


def latest_filing(build: Path, period: int) -> dict:
    """An enterprise report of `period` as it stands in the build database, with every contract field."""
    keys = [f.key for f in ENTERPRISE.fields]
    with duckdb.connect(str(build), read_only=True) as con:
        row = con.execute(
            f"SELECT {', '.join(keys)} FROM intermediate.int_enterprise__latest_filings "
            "WHERE period = ? AND revenue > 1000 ORDER BY filing_id LIMIT 1", [period]).fetchone()
    return dict(zip(keys, row))


def as_cell(value: object) -> object:
    """A typed value as a province's CSV cell writes it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    return value


# A later revision of a 2022 report changes these (the `corrected_sample` scenario).
CORRECTED_REVENUE = Decimal("1234.5")
CORRECTED_HIGHTECH_REVENUE = Decimal("1000")


def duplicate_report_delivery(home: Path) -> Path:
    """A province delivers a published enterprise's 2022 report again, under a new filing id."""
    con = duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        uscc, name, region = con.execute(
            "SELECT e.uscc, e.name, f.region_code FROM analytics.fct_enterprise_annual f "
            "JOIN analytics.dim_enterprise e USING (enterprise_key) WHERE f.period = 2022 ORDER BY f.filing_id LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    record = {"filing_id": f"ENT-2022-{uscc}-AGAIN", "revision": "1", "period": "2022",
              "submitted_at": "2023-12-01T10:00:00+08:00", "uscc": uscc, "name": name, "region_code": region}
    return deliver(home, "enterprise", 2022, "110000_20231201.csv", [{k: record[k] for k in ENTERPRISE.required_keys}])


# ---- what a run leaves ----

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serving_counts(home: Path) -> dict[str, int]:
    """Rows of every table in the serving DuckDB file, by `schema.table`."""
    con = duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in tables}
    finally:
        con.close()


# Columns that say when a row was loaded or which attempt was last, not what was published.
RUN_DEPENDENT_COLUMNS = ("loaded_at", "is_latest_attempt", "is_current")


def published_tables(serving: Path) -> dict[str, str]:
    """Each published table's rows as one order-independent digest ("rows:hash"), the run-dependent columns left
    out; of ops.ingest_accounting only each delivery's latest attempt."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        digests = {}
        for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall():
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "AND NOT list_contains(?, column_name) ORDER BY column_index",
                [schema, table, list(RUN_DEPENDENT_COLUMNS)]).fetchall()]
            where = " WHERE is_latest_attempt" if (schema, table) == ("ops", "ingest_accounting") else ""
            digest = con.execute(
                f"SELECT count(*), sum(hash(({', '.join(chr(34) + c + chr(34) for c in columns)}))) "
                f"FROM {schema}.{table}{where}").fetchone()
            digests[f"{schema}.{table}"] = f"{digest[0]}:{digest[1]}"
        return digests
    finally:
        con.close()


def landed_api_keys(store: RawStore, family: str) -> list[tuple]:
    """(filing_id, revision) of every API item of `family` in the raw layer, landed or quarantined."""
    con = duckdb.connect()
    refresh_raw_schema(con, store, families=[family])
    rows = con.execute(
        f"SELECT filing_id, revision FROM raw.{family}_api UNION ALL "
        f"SELECT filing_id, CAST(json_extract_string(record, '$.revision') AS BIGINT) FROM raw.quarantine "
        f"WHERE family = '{family}'"
    ).fetchall()
    con.close()
    return sorted(rows)


RAW_FAMILIES = tuple(FAMILIES)


def raw_keys(store: RawStore) -> list[tuple]:
    """Every record of the file channel's raw layer and of the quarantine, by family and lineage, sorted."""
    con = duckdb.connect()
    refresh_raw_schema(con, store)
    keys = []
    for family in RAW_FAMILIES:
        keys += con.execute(f"SELECT '{family}', filing_id, revision, _source, _row_number FROM raw.{family}_files").fetchall()
    keys += con.execute("SELECT family, filing_id, 0, _source, _row_number FROM raw.quarantine").fetchall()
    con.close()
    return sorted(keys, key=str)


# ---- services the tests start ----

def wait_for_health(
    base: str, timeout_s: float, alive: Callable[[], bool] = lambda: True, path: str = "/healthz"
) -> None:
    """Wait until the service at `base` answers `path`; fail if it dies or takes longer than `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            requests.get(f"{base}{path}", timeout=1).raise_for_status()
            return
        except requests.ConnectionError:
            assert alive(), f"the service at {base} exited before it answered"
            assert time.monotonic() < deadline, f"the service at {base} did not answer within {timeout_s} s"
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving_api(data: Path, token: str, log: Path, faults: str | None = None, seed: int = 0) -> Iterator[str]:
    """`ndc serve-api` as an operator starts it, in its own process on a free loopback port; yields its base URL.
    Its output goes to `log`, which never holds the token."""
    port = free_port()
    args = [str(NDC), "serve-api", "--data", str(data), "--port", str(port), "--seed", str(seed)]
    args += ["--faults", faults] if faults else []
    with log.open("w") as out:
        server = subprocess.Popen(args, env={**os.environ, "NDC_API_TOKEN": token}, stdout=out,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, timeout_s=60, alive=lambda: server.poll() is None)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        assert token not in log.read_text(errors="replace"), "the API stand-in logged the token"


@contextmanager
def running(app) -> Iterator[str]:
    """Serve an ASGI `app` with uvicorn on a free loopback port in a thread; yields the base URL once /healthz
    answers."""
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for_health(base, timeout_s=10, alive=thread.is_alive)
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# ---- BI readers in their own processes ----

def start_reader(kind: str, target: str, stop: Path, *query_and_pause: str) -> tuple[subprocess.Popen, Path]:
    """A BI reader (`tests/warehouse/reader_loop.py`) querying `target` until `stop` exists."""
    # Output goes to a file: a pipe nobody reads until the end would fill and stall the reader.
    log = stop.with_name(f"{kind}.jsonl")
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.warehouse.reader_loop", kind, target, str(stop),
                                    *query_and_pause],
                                   cwd=REPO_ROOT, stdout=out, stderr=subprocess.PIPE, text=True)
    return process, log


def observations(reader: tuple[subprocess.Popen, Path]) -> list[list]:
    process, log = reader
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return [json.loads(line) for line in log.read_text().splitlines()]


# ---- scenarios shared by the workers of one test run ----

T = TypeVar("T")


def shared_root(factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this test run sees: the run's base temporary folder (xdist's workers each have
    a subfolder of it)."""
    base = factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def shared(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """`build(folder)` once per test run, whichever worker asks first; every worker gets the same result."""
    root = shared_root(factory)
    result = root / f"{name}.pickle"
    with FileLock(str(root / f"{name}.lock")):
        if not result.exists():
            folder = root / name
            shutil.rmtree(folder, ignore_errors=True)  # what a worker's failed build left
            folder.mkdir()
            result.write_bytes(pickle.dumps(build(folder)))
    return pickle.loads(result.read_bytes())


# ---- PostgreSQL ----

ADMIN_DSN = os.environ.get("NDC_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_server() -> None:
    """Start the machine's PostgreSQL cluster if it is down (as the machine's own start-up does), or fail."""
    if _reachable():
        return
    for version in sorted(glob.glob("/etc/postgresql/*")):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", os.path.basename(version), "main", "start"],
                       capture_output=True, timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _reachable():
            return
        time.sleep(0.5)
    raise RuntimeError(f"PostgreSQL is not reachable at {ADMIN_DSN} and could not be started: the publication "
                       "tests need the real server (set NDC_TEST_POSTGRES_DSN to use another one)")


def dsn_for(database: str) -> str:
    return psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=database)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty database `ndc_test_<random>`, dropped afterwards; yields its DSN."""
    name = create_database()
    try:
        yield dsn_for(name)
    finally:
        drop_database(name)


def create_database() -> str:
    """A new, empty database `ndc_test_<random>`; its name. Whoever creates one drops it (`drop_database`)."""
    ensure_server()
    name = f"ndc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def schema_checksum(dsn: str, schema: str = "analytics") -> str:
    """A digest of everything a reader of `schema` sees: tables, columns and types, comments, grants and rows."""
    digest = hashlib.sha256()
    with psycopg.connect(dsn) as con:
        catalog = con.execute(
            "SELECT c.table_name, c.column_name, c.data_type, col_description(format('%%I.%%I', c.table_schema, "
            "c.table_name)::regclass, c.ordinal_position::int), obj_description(format('%%I.%%I', c.table_schema, "
            "c.table_name)::regclass, 'pg_class') FROM information_schema.columns c WHERE c.table_schema = %s "
            "ORDER BY c.table_name, c.ordinal_position", [schema]).fetchall()
        digest.update(repr(catalog).encode())
        grants = con.execute(
            "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = %s ORDER BY 1, 2, 3", [schema]).fetchall()
        digest.update(repr(grants).encode())
        for (table,) in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema]):
            rows = con.execute(sql.SQL("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t")
                               .format(sql.Identifier(schema, table))).fetchone()[0]
            digest.update(f"{table}:{rows}".encode())
    return digest.hexdigest()
