"""Shared fixtures: a small generated sample, the sample run through the whole pipeline once (published to DuckDB
and to a throwaway PostgreSQL database), and a helper to run the real `ndc` command on a temporary NDC_HOME."""

from __future__ import annotations

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

from ingestion.synthetic.generate import generate
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
class Published:
    home: Path  # NDC_HOME after one passing `ndc run`: never change it, copy it
    postgres_dsn: str  # the database it published to

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, sample_landing: Path) -> Iterator[Published]:
    """The sample landed, built, gated and published by the real `ndc run`, to DuckDB and PostgreSQL, once."""
    home = tmp_path_factory.mktemp("published") / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    with throwaway_database() as dsn:
        result = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": dsn})
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        yield Published(home, dsn)


def wait_for_health(base: str, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait until the API stand-in at `base` answers /healthz; fail if it dies or takes longer than `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=1).raise_for_status()
            return
        except requests.ConnectionError:
            assert alive(), f"the service at {base} exited before it answered"
            assert time.monotonic() < deadline, f"the service at {base} did not answer within {timeout_s} s"
            time.sleep(0.05)


def run_ndc(home: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator runs it."""
    environment = {**os.environ, "NDC_HOME": str(home), **(env or {})}
    return subprocess.run([str(NDC), *args], env=environment, capture_output=True, text=True, timeout=timeout)
