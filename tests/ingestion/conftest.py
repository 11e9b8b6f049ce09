from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingestion.contracts import ENTERPRISE
from ingestion.synthetic.drops import DropStyle, render, write_drop
from ingestion.synthetic.enterprises import annual_reports, build_population
from ingestion.synthetic.reference import load_reference


@pytest.fixture(scope="session")
def reports() -> pd.DataFrame:
    """A dozen typed enterprise reports for 2022, as the generator makes them."""
    rng = np.random.default_rng(3)
    population = build_population(rng, load_reference(), range(2022, 2023), 12)
    return annual_reports(rng, population, 2022)


@pytest.fixture
def write(tmp_path: Path):
    """Write reports as a province would: write(frame, name, style) -> path under landing/enterprise/2022/."""

    def _write(frame: pd.DataFrame, name: str = "110000_20230315.csv", style: DropStyle = DropStyle()) -> Path:
        path = tmp_path / "landing" / "enterprise" / "2022" / name
        write_drop(render(frame, ENTERPRISE, style), path, style)
        return path

    return _write
