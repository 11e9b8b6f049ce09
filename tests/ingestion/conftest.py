from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ingestion.contracts import ENTERPRISE
from simulator.drops import DropStyle, render, write_drop
from simulator.filings import enterprise_reports
from simulator.world import SCALES, build_world


@pytest.fixture(scope="session")
def reports() -> pd.DataFrame:
    """A dozen typed enterprise reports for 2022, as the generator makes them."""
    rng = np.random.default_rng(3)
    world = build_world(rng, range(2022, 2023), SCALES["sample"])
    world.enterprises = world.enterprises.take(np.arange(12))
    return enterprise_reports(rng, world, 2022).table.to_pandas()


@pytest.fixture
def write(tmp_path: Path):
    """Write reports as a province would: write(frame, name, style) -> path under landing/enterprise/2022/."""

    def _write(frame: pd.DataFrame, name: str = "110000_20230315.csv", style: DropStyle = DropStyle()) -> Path:
        path = tmp_path / "landing" / "enterprise" / "2022" / name
        write_drop(render(pa.Table.from_pandas(frame, preserve_index=False), ENTERPRISE, style), path, style)
        return path

    return _write
