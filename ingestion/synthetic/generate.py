"""`ndc generate`: seeded provincial file drops under `{out}/landing/`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.contracts import ENTERPRISE
from ingestion.synthetic.drops import ENCODINGS, DropStyle, render, write_drop
from ingestion.synthetic.enterprises import annual_reports, build_population
from ingestion.synthetic.reference import load_reference


@dataclass(frozen=True)
class Scale:
    enterprises: int  # alive in the first year
    submission_days: int  # days on which a province delivers a year's reports


SCALES = {
    "sample": Scale(enterprises=1_500, submission_days=2),
    "province": Scale(enterprises=35_000, submission_days=6),
    "national": Scale(enterprises=1_000_000, submission_days=20),
}
CORRECTION_SHARE = 0.03  # filings that get a later revision


@dataclass
class GenerateSummary:
    files: int = 0
    records: int = 0


def parse_years(text: str) -> range:
    """'2021-2023' or '2023'."""
    first, _, last = text.partition("-")
    start, stop = int(first), int(last or first)
    if stop < start:
        raise ValueError(f"years {text!r}: the last year comes before the first")
    return range(start, stop + 1)


def _style(rng: np.random.Generator) -> DropStyle:
    unit = rng.choice(["", "元", "万元"], p=[0.8, 0.1, 0.1])
    return DropStyle(
        fmt="xlsx" if rng.random() < 0.1 else "csv",
        encoding=str(rng.choice(ENCODINGS)),
        money_unit=str(unit) or None,
        thousands=bool(rng.random() < 0.3),
    )


def _corrections(rng: np.random.Generator, reports: pd.DataFrame, year: int, last_year: int) -> pd.DataFrame:
    """Revision 2 of a share of the year's filings, submitted later (some in a following year)."""
    fixed = reports[rng.random(len(reports)) < CORRECTION_SHARE].copy()
    fixed["revision"] = 2
    delay_days = rng.integers(60, 400 if last_year > year else 200, len(fixed))
    fixed["submitted_at"] = fixed["submitted_at"] + pd.to_timedelta(delay_days, unit="D")
    fixed["revenue"] = np.round(fixed["revenue"] * rng.uniform(0.95, 1.05, len(fixed)), 1)
    fixed["hightech_revenue"] = np.minimum(fixed["hightech_revenue"], fixed["revenue"])
    return fixed


def generate(
    out: Path,
    scale: str = "sample",
    years: range = range(2021, 2024),
    seed: int = 42,
    on_progress: Callable[[int, int], None] | None = None,
) -> GenerateSummary:
    rng = np.random.default_rng(seed)
    params = SCALES[scale]
    population = build_population(rng, load_reference(), years, params.enterprises)
    landing = Path(out) / "landing" / ENTERPRISE.name
    summary = GenerateSummary()
    batches = []
    for year in years:
        reports = annual_reports(rng, population, year)
        day = rng.integers(0, params.submission_days, len(reports))
        first_day = pd.Timestamp(f"{year + 1}-03-15T00:00:00+08:00")
        minutes = rng.integers(8 * 60, 18 * 60, len(reports))
        reports["submitted_at"] = first_day + pd.to_timedelta(day * 7, unit="D") + pd.to_timedelta(minutes, unit="min")
        batches.append(reports)
        batches.append(_corrections(rng, reports, year, years.stop - 1))
    every = pd.concat(batches, ignore_index=True)
    every["province"] = every["region_code"].str[:2] + "0000"
    every["day"] = every["submitted_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y%m%d")
    groups = every.groupby(["period", "province", "day"], sort=True)
    for i, ((period, province, day), group) in enumerate(groups, start=1):
        style = _style(rng)
        body = group.drop(columns=["province", "day"]).sort_values(["submitted_at", "filing_id"])
        path = landing / str(period) / f"{province}_{day}.{style.fmt}"
        write_drop(render(body, ENTERPRISE, style), path, style)
        summary.files += 1
        summary.records += len(group)
        if on_progress:
            on_progress(i, groups.ngroups)
    return summary
