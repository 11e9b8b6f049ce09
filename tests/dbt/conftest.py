"""A warehouse built and published once from the session's sample, for the tests that need real models."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_ndc


@pytest.fixture(scope="session")
def published_home(tmp_path_factory: pytest.TempPathFactory, sample_landing: Path) -> Path:
    """NDC_HOME after one `ndc run` over the sample (two years, all four families); copy before changing it."""
    home = tmp_path_factory.mktemp("warehouse") / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    result = run_ndc(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return home
