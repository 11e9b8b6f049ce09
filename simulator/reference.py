"""Reference data the generator draws from: the vendored GB/T 2260 table in `dbt_project/seeds/reference/`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from ingestion.reference import SEEDS

# Relative weight of a province's enterprises by NBS region: a synthetic spread, not a published figure.
REGION_WEIGHT = {"东部": 3.0, "中部": 1.5, "西部": 1.0, "东北": 0.8}


@dataclass(frozen=True)
class Reference:
    counties: pd.DataFrame  # division_code, prefecture_code, province_code, prefix, weight (mainland counties)
    provinces: pd.DataFrame  # province_code, province_short, region


@cache
def load_reference(seeds: Path = SEEDS) -> Reference:
    divisions = pd.read_csv(seeds / "ref_divisions.csv", dtype=str)
    provinces = pd.read_csv(seeds / "ref_provinces.csv", dtype=str)
    mainland = provinces[provinces["region"].notna()]
    counties = divisions[(divisions["level"] == "county") & divisions["province_code"].isin(mainland["province_code"])]
    counties = counties.merge(mainland[["province_code", "province_short"]], on="province_code")
    per_province = counties.groupby("province_code")["division_code"].transform("count")
    counties = counties.assign(
        prefix=counties["province_short"],
        weight=counties["region"].map(REGION_WEIGHT) / per_province,
    )[["division_code", "prefecture_code", "province_code", "prefix", "weight"]].reset_index(drop=True)
    return Reference(counties=counties, provinces=mainland.reset_index(drop=True))
