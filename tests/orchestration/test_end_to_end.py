"""The whole pipeline through the real `ndc` command: file drops in, gated publication out."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingestion.contracts import ENTERPRISE
from tests.conftest import NDC, PublishedSample, deliver, run_ndc, wait_for_health
from tests.postgres import schema_checksum

pytestmark = pytest.mark.slow


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serving_counts(home: Path) -> dict[str, int]:
    con = duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in tables}
    finally:
        con.close()


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


def blocked_run_changes_nothing(home: Path, published: PublishedSample) -> subprocess.CompletedProcess[str]:
    """Run again after a bad change: exit 1, and both serving copies exactly as they were."""
    serving = home / "warehouse" / "serving.duckdb"
    before = sha256(serving), schema_checksum(published.postgres_dsn)
    blocked = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": published.postgres_dsn})
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr[-3000:]
    assert "NOT PUBLISHED" in blocked.stdout
    assert (sha256(serving), schema_checksum(published.postgres_dsn)) == before
    return blocked


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


def test_a_bad_delivery_is_blocked_by_a_published_model_gate(published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    duplicate_report_delivery(home)
    blocked = blocked_run_changes_nothing(home, published_sample)
    assert "gx_fct_enterprise_annual" in blocked.stdout
    assert "one_report_per_enterprise_and_year: 1 unexpected rows" in blocked.stdout


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


def test_a_family_with_nothing_delivered_still_publishes(tmp_path: Path):
    home = tmp_path / "empty"
    result = run_ndc(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert serving_counts(home)["analytics.fct_enterprise_annual"] == 0
    assert "warnings (reported, not blocking)" in result.stdout and "has_deliveries" in result.stdout


@contextmanager
def serving_api(data: Path, token: str) -> Iterator[str]:
    """`ndc serve-api` as an operator starts it, on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(NDC), "serve-api", "--data", str(data), "--port", str(port), "--faults", "429=0.05,503=0.05,cut=0.03"],
        env={**os.environ, "NDC_API_TOKEN": token}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, timeout_s=60, alive=lambda: process.poll() is None)
        yield base
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        assert token not in output


def test_run_pulls_the_api_and_the_file_drops_together(tmp_path: Path):
    home, token = tmp_path / "ndc", "s3cret-token-value"
    generated = run_ndc(home, "generate", "--years", "2022-2023", "--channel", "both", "--seed", "9")
    assert generated.returncode == 0, generated.stderr
    with serving_api(home, token) as base:
        env = {"NDC_API_URL": base, "NDC_API_TOKEN": token}
        result = run_ndc(home, "run", env=env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert token not in result.stdout + result.stderr
    assert "raw/enterprise_api:" in result.stdout
    con = duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True)
    channels = dict(con.execute(
        "SELECT source_channel, count(*) FROM analytics.fct_enterprise_annual GROUP BY 1").fetchall())
    con.close()
    assert channels.get("files", 0) > 0 and channels.get("api", 0) > 0
