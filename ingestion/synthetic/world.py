"""The simulated world behind the filings: who exists, where, and for how long.

One seeded numpy generator draws every population as whole columns. Enterprises age, grow, enter and leave;
some sit in a national high-tech zone of their prefecture; universities and research institutes sell technology;
incubation carriers host young enterprises. The filings of each family are drawn from this one world
(`filings.py`), which is what keeps the families consistent with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.reference import rows
from ingestion.synthetic.codes import uscc_codes
from ingestion.synthetic.reference import Reference, load_reference

ZONE_MEMBERSHIP = 0.6  # enterprises in a prefecture with a national zone that belong to it (synthetic)
CARRIER_MIX = {"众创空间": 0.55, "孵化器": 0.40, "加速器": 0.03, "大学科技园": 0.02}
LEVEL_MIX = {"国家级": 0.12, "省级": 0.38, "市级": 0.35, "其他": 0.15}


@dataclass(frozen=True)
class Scale:
    name: str
    enterprises: int  # enterprise reports per year, about
    carriers: int  # carriers alive per year, about
    submission_days: int  # days on which a province delivers a family's filings for a year
    contract_batch_days: int  # a registry delivers the contracts it registered every this many days

    @property
    def national_share(self) -> float:
        """This scale's size as a share of the nation (contract counts are calibrated to it)."""
        return self.enterprises / SCALES["national"].enterprises


SCALES = {
    "sample": Scale("sample", enterprises=1_500, carriers=60, submission_days=2, contract_batch_days=91),
    "province": Scale("province", enterprises=35_000, carriers=500, submission_days=4, contract_batch_days=30),
    "national": Scale("national", enterprises=1_000_000, carriers=15_000, submission_days=12, contract_batch_days=7),
}


@dataclass
class World:
    years: range
    scale: Scale
    reference: Reference
    enterprises: pd.DataFrame  # one row per enterprise that ever exists in the simulated years
    institutions: pd.DataFrame  # universities and research institutes (technology sellers)
    carriers: pd.DataFrame  # incubation carriers
    zones: pd.DataFrame  # national high-tech zones with their prefecture and years


def _place(rng: np.random.Generator, ref: Reference, n: int) -> pd.DataFrame:
    counties = ref.counties
    picked = rng.choice(len(counties), size=n, p=(counties["weight"] / counties["weight"].sum()).to_numpy())
    return counties.iloc[picked].reset_index(drop=True)


def _lifetimes(rng: np.random.Generator, years: range, alive_at_start: int, entry_rate: float, exit_p: float):
    """First and last year of each member: `alive_at_start` in the first year, entries after, geometric exits."""
    start, end = years.start, years.stop - 1
    n = int(alive_at_start * (1 + entry_rate * (len(years) - 1)))
    first = np.full(n, start)
    if len(years) > 1:
        first[alive_at_start:] = rng.integers(start + 1, end + 1, size=n - alive_at_start)
    last = first + rng.geometric(exit_p, size=n) - 1
    # Those alive at the start were there before it: spread their exits as a stationary population's would be.
    return first, np.maximum(last, first)


def _zones(ref_zones: pd.DataFrame, years: range) -> pd.DataFrame:
    zones = ref_zones.copy()
    zones["from_year"] = pd.to_numeric(zones["approved_year"], errors="coerce").fillna(years.start).astype(int)
    zones["to_year"] = pd.to_numeric(zones["revoked_year"], errors="coerce").fillna(9999).astype(int)
    return zones


def _assign_zones(rng: np.random.Generator, places: pd.DataFrame, zones: pd.DataFrame, share: float) -> np.ndarray:
    """A zone code for members placed in a prefecture that has a national zone, with probability `share`."""
    zone_by_prefecture = zones.dropna(subset=["prefecture_code"]).groupby("prefecture_code")["zone_code"].first()
    candidate = places["prefecture_code"].map(zone_by_prefecture)
    county_zone = places["division_code"].map(zone_by_prefecture)  # zones placed at a county-level city
    candidate = county_zone.fillna(candidate)
    member = candidate.notna().to_numpy() & (rng.random(len(places)) < share)
    return np.where(member, candidate.to_numpy(dtype=object), None)


def build_world(rng: np.random.Generator, years: range, scale: Scale) -> World:
    ref = load_reference()
    zones = _zones(pd.DataFrame(rows("ref_zones")), years)

    first, last = _lifetimes(rng, years, scale.enterprises, entry_rate=0.08, exit_p=0.06)
    n = len(first)
    places = _place(rng, ref, n)
    age_at_entry = np.where(first == years.start, rng.integers(1, 25, n), rng.integers(0, 2, n))
    established = (first - age_at_entry - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, n)
    enterprises = pd.DataFrame(
        {
            "uscc": uscc_codes(rng, places["division_code"].to_numpy()),
            "seq": np.arange(n),
            "region_code": places["division_code"].to_numpy(),
            "province_code": places["province_code"].to_numpy(),
            "prefix": places["prefix"].to_numpy(),
            "zone_code": _assign_zones(rng, places, zones, ZONE_MEMBERSHIP),
            "first_year": first,
            "last_year": last,
            "established_on": established,
            "size": rng.lognormal(mean=3.6, sigma=1.2, size=n),  # employees when first seen, median ~37
            "growth": rng.normal(0.05, 0.10, size=n),
            "rd_intensity": np.clip(rng.lognormal(np.log(0.045), 0.6, size=n), 0.001, 0.4),
            "hightech_share": rng.beta(6, 3, size=n),
            "is_hte": rng.random(n) < 0.46,
            "hte_offset": rng.integers(0, 3, size=n),
            "wants_sme": rng.random(n) < 0.55,
            "listed": rng.random(n) < 0.01,
            "tech_field": rng.choice([r["tech_field"] for r in rows("ref_tech_fields")], size=n),
            "industry_code": rng.choice([r["industry_code"] for r in rows("ref_industries")], size=n),
        }
    )

    n_inst = max(20, scale.enterprises // 200)
    inst_places = _place(rng, ref, n_inst)
    institutions = pd.DataFrame(
        {
            "uscc": uscc_codes(rng, inst_places["division_code"].to_numpy(), authority="12"),  # 机构编制, 事业单位
            "region_code": inst_places["division_code"].to_numpy(),
            "party_type": rng.choice(["高等院校", "科研机构"], size=n_inst, p=[0.45, 0.55]),
            "prefix": inst_places["prefix"].to_numpy(),
        }
    )
    institutions["name"] = institutions["prefix"] + np.where(
        institutions["party_type"] == "高等院校", "理工大学", "科学研究院"
    ) + pd.Series(np.arange(n_inst)).astype(str).str.zfill(4)

    c_first, c_last = _lifetimes(rng, years, scale.carriers, entry_rate=0.07, exit_p=0.04)
    n_car = len(c_first)
    car_places = _place(rng, ref, n_car)
    carrier_type = rng.choice(list(CARRIER_MIX), size=n_car, p=list(CARRIER_MIX.values()))
    big = np.isin(carrier_type, ["孵化器", "加速器", "大学科技园"])
    carriers = pd.DataFrame(
        {
            "uscc": uscc_codes(rng, car_places["division_code"].to_numpy()),
            "seq": np.arange(n_car),
            "region_code": car_places["division_code"].to_numpy(),
            "province_code": car_places["province_code"].to_numpy(),
            "prefix": car_places["prefix"].to_numpy(),
            "zone_code": _assign_zones(rng, car_places, zones, 0.5),
            "carrier_type": carrier_type,
            "level": rng.choice(list(LEVEL_MIX), size=n_car, p=list(LEVEL_MIX.values())),
            "specialised": (carrier_type == "孵化器") & (rng.random(n_car) < 0.3),
            "first_year": c_first,
            "last_year": c_last,
            "established_on": (c_first - rng.integers(0, 10, n_car) - 1970).astype("datetime64[Y]").astype("datetime64[D]"),
            "area_total": np.round(np.where(big, rng.lognormal(np.log(18_000), 0.6, n_car), rng.lognormal(np.log(1_800), 0.6, n_car)), 1),
            "capacity": np.where(big, rng.lognormal(np.log(70), 0.5, n_car), rng.lognormal(np.log(25), 0.5, n_car)),
        }
    )
    return World(years, scale, ref, enterprises, institutions, carriers, zones)
