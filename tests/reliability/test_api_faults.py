"""The API channel through the real service (`ndc serve-api --faults`, its own process, over HTTP) failing at
rates: every family lands exactly what a fault-free pull lands; and a whole `ndc run` pulling through faults
publishes, with the API token in no log, no event of the Dagster instance and no file it wrote."""

from __future__ import annotations

import os
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from ingestion.api_client import ApiClient
from ingestion.api_landing import land_api
from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore
from simulator.faults import FaultSpec
from simulator.generate import generate
from tests.conftest import NDC, run_ndc, wait_for_health
from tests.ingestion.test_api_landing import landed

TOKEN = "ndc-secret-7f3c9a1e5b2d4c6f8a0e"  # a value that cannot occur by chance in any file or log
# Every fault the service knows, at rates that make about a third of all requests fail.
FAULTS = "429=0.06,500=0.05,502=0.04,503=0.05,slow=0.02,expire=0.05,cut=0.05,drop=0.05"
SEED = 11
RUN_FAULTS = "429=0.1,500=0.1,503=0.1,cut=0.1,drop=0.1"  # ndc run pulls pages of 5,000: few requests, more faults


@pytest.fixture(scope="module")
def api_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("api_store")
    generate(out, "sample", range(2023, 2024), seed=5, channel="api")
    return out


@contextmanager
def serve_api(data: Path, log: Path, faults: str | None = None) -> Iterator[str]:
    """`ndc serve-api` as an operator starts it, on a free port; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [str(NDC), "serve-api", "--data", str(data), "--port", str(port), "--seed", str(SEED)]
    args += ["--faults", faults] if faults else []
    with log.open("w") as out:
        server = subprocess.Popen(args, env={**os.environ, "NDC_API_TOKEN": TOKEN}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, timeout_s=60, alive=lambda: server.poll() is None)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def requests_served(base: str) -> int:
    """How many filing requests the service has answered so far: the ordinal of one more request, minus one."""
    for _ in range(50):
        try:
            answer = requests.get(f"{base}/v1/filings/zone", params={"page_size": 1},
                                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        except requests.RequestException:
            continue
        if "X-Request-Ordinal" in answer.headers:
            return int(answer.headers["X-Request-Ordinal"]) - 1
    raise AssertionError("the service never answered with its request ordinal")


def client(base: str) -> ApiClient:
    return ApiClient(base, TOKEN, page_size=25, retries=12, backoff_s=0.01, max_backoff_s=0.05)


def test_every_family_pulled_through_faults_lands_what_a_fault_free_pull_lands(api_store: Path, tmp_path: Path):
    clean, faulty = RawStore(tmp_path / "clean"), RawStore(tmp_path / "faulty")
    with serve_api(api_store, tmp_path / "clean.log") as base:
        for family in FAMILIES:
            land_api(client(base), clean, family)
    with serve_api(api_store, tmp_path / "faulty.log", FAULTS) as base:
        for family in FAMILIES:
            land_api(client(base), faulty, family)
        served = requests_served(base)
    spec = FaultSpec.parse(FAULTS)
    injected = Counter(kind for i in range(1, served + 1) if (kind := spec.draw(SEED, i)))
    print(f"\n{served} requests, {sum(injected.values())} faults injected: {dict(sorted(injected.items()))}")
    assert set(injected) == set(dict(spec.rates)), "every kind of fault was injected at least once"
    assert sum(injected.values()) >= 60
    for family in FAMILIES:
        assert landed(faulty, family) == landed(clean, family), family
        assert landed(clean, family), family
    for log in ("clean.log", "faulty.log"):
        assert TOKEN not in (tmp_path / log).read_text()


def files_holding(root: Path, secret: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


@pytest.mark.slow
def test_a_run_pulling_through_faults_publishes_and_the_token_is_nowhere(api_store: Path, tmp_path: Path):
    home = tmp_path / "ndc"
    with serve_api(api_store, tmp_path / "server.log", RUN_FAULTS) as base:
        result = run_ndc(home, "run", env={"NDC_API_URL": base, "NDC_API_TOKEN": TOKEN})
        served = requests_served(base)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    faults = sum(1 for i in range(1, served + 1) if FaultSpec.parse(RUN_FAULTS).draw(SEED, i))
    print(f"\nndc run: {served} requests, {faults} faults injected")
    assert "PUBLISHED" in result.stdout and faults >= 3
    for family in FAMILIES:
        assert landed(RawStore(home / "raw"), family)
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN not in (tmp_path / "server.log").read_text()
    # Dagster's event log and run storage, the raw layer's ledger, dbt's logs, the quality results: none holds it.
    assert files_holding(home, TOKEN.encode()) == []
    assert (home / "dagster").is_dir() and any((home / "dagster").rglob("*.db"))
