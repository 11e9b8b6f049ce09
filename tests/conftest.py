"""Shared fixtures: a small generated sample, the sample run through the whole pipeline once (published to DuckDB
and to a throwaway PostgreSQL database), and a helper to run the real `ndc` command on a temporary NDC_HOME."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

# pyspark (installed for the Spark target) takes a `__main__` without a file for a doctest run and exits the process
# when Great Expectations imports it; pytest-xdist's workers start from `python -c`, so give their `__main__` a name.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest worker>"

from ingestion.contracts import FAMILIES
from simulator.generate import generate
from orchestration.settings import Settings
from tests.postgres import throwaway_database

NDC = Path(sys.executable).parent / "ndc"
SAMPLE_YEARS = range(2022, 2024)
SAMPLE_SEED = 7


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated file drops for two years (seeded), written once per session; copy before changing."""
    home = tmp_path_factory.mktemp("sample")
    generate(home, "sample", SAMPLE_YEARS, SAMPLE_SEED)
    return home / "landing"


@pytest.fixture
def ndc_home(tmp_path: Path, sample_landing: Path) -> Path:
    """A fresh NDC_HOME holding a copy of the sample's landing folder."""
    home = tmp_path / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    return home


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


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory: pytest.TempPathFactory, sample_landing: Path) -> Iterator[PublishedSample]:
    """NDC_HOME after one real `ndc run` over the sample (all four families), published to DuckDB and to a throwaway
    PostgreSQL database, once per session; a test that changes it works on `copy_to`."""
    home = tmp_path_factory.mktemp("published") / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    with throwaway_database() as dsn:
        result = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": dsn})
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        yield PublishedSample(home, result, dsn)


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


def run_ndc(home: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator runs it."""
    environment = {**os.environ, "NDC_HOME": str(home), **(env or {})}
    return subprocess.run([str(NDC), *args], env=environment, capture_output=True, text=True, timeout=timeout)


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
