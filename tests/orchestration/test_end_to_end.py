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
import pytest

from ingestion.contracts import ENTERPRISE
from tests.conftest import NDC, PublishedSample, deliver, run_ndc, wait_for_health

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


def test_run_publishes_then_a_bad_delivery_is_blocked_and_changes_nothing(published_sample: PublishedSample, tmp_path: Path):
    first = published_sample.run
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    ndc_home = published_sample.copy_to(tmp_path / "ndc")
    assert "PUBLISHED" in first.stdout
    counts = serving_counts(ndc_home)
    assert counts["analytics.fct_enterprise_annual"] > 0
    assert counts["analytics.dim_enterprise"] > 0
    assert not any(name.startswith(("raw.", "staging.", "intermediate.")) for name in counts), "BI sees only analytics"
    serving = ndc_home / "warehouse" / "serving.duckdb"
    published = sha256(serving)

    duplicate_report_delivery(ndc_home)
    blocked = run_ndc(ndc_home, "run")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr[-3000:]
    assert "NOT PUBLISHED" in blocked.stdout
    assert "gx_fct_enterprise_annual" in blocked.stdout
    assert "expect_compound_columns_to_be_unique(uscc, period)" in blocked.stdout
    assert sha256(serving) == published


def test_a_family_with_nothing_delivered_still_publishes(tmp_path: Path):
    home = tmp_path / "empty"
    result = run_ndc(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert serving_counts(home)["analytics.fct_enterprise_annual"] == 0


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
