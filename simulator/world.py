"""The simulated world behind the filings: who exists, where, and for how long.

One seeded numpy generator draws every population as whole columns. Enterprises age, grow, enter and leave;
some sit in a national high-tech zone of their prefecture; universities and research institutes sell technology;
incubation carriers host young enterprises. The filings of each family are drawn from this one world
(`filings.py`), which is what keeps the families consistent with each other.

Populations are plain numpy columns: places and categories are integer indices into small reference arrays, and
codes are byte matrices (`codes.py`). Strings are only made when filings are written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ingestion.reference import rows
from simulator.codes import uscc_codes
from simulator.reference import load_reference

ZONE_MEMBERSHIP = 0.6  # enterprises in a prefecture with a national zone that belong to it (synthetic)
CARRIER_MIX = {"众创空间": 0.55, "孵化器": 0.40, "加速器": 0.03, "大学科技园": 0.02}
LEVEL_MIX = {"国家级": 0.12, "省级": 0.38, "市级": 0.35, "其他": 0.15}
# Universities against research institutes among technology sellers: 23,508 and 13,298 contracts in the 2020 H1
# 全国技术市场快报 (domain-additions §2).
INSTITUTION_MIX = {"高等院校": 23_508 / 36_806, "科研机构": 13_298 / 36_806}
NO_ZONE = -1

# Certificate holders among enterprise reports: ~460k 高新技术企业 of ~1M reports (filing-formats.md; domain-rules §4.2).
HTE_SHARE = 0.46
# Holders are drawn so most meet the computable criteria of domain-rules §4.1 (R&D intensity by revenue band, ≥60%
# high-tech revenue, ≥10% S&T staff), non-holders so most do not. The spreads are assumptions: no pass rate is
# published. Holders' median R&D intensity of 7.5% clears the 5% band with room for a year's noise.
RD_INTENSITY = {"holder": (0.075, 0.25), "other": (0.02, 0.8)}  # lognormal median and sigma
HIGHTECH_SHARE = {"holder": (14, 4), "other": (3, 4)}  # beta parameters: means 0.78 and 0.43
ST_STAFF_SHARE = {"holder": (5, 10), "other": (2, 8)}  # beta parameters: means 0.33 and 0.20

# Every national zone has enterprises that stay all the simulated years, so none reports an empty zone: this share of
# the enterprises per zone, at least one. Leading zones hold a large share of their own, with bigger enterprises, so
# they rank near the top every year. Which zones lead, and by how much, is this project's assumption: the references
# publish no zone ranking.
ZONE_ANCHOR_SHARE = 0.0002
LEADING_ZONES = {"中关村": 0.03, "张江": 0.02, "深圳": 0.02, "武汉东湖": 0.015}  # zone_short -> share of enterprises
LEADING_ZONE_SIZE = (4.6, 1.0)  # lognormal of employees when first seen: median ~100, against ~37 elsewhere


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


class Population:
    """Named numpy columns of one length: one row per member."""

    def __init__(self, **columns: np.ndarray):
        self.columns = columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.columns[name] = values

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def take(self, index: np.ndarray) -> Population:
        return Population(**{name: column[index] for name, column in self.columns.items()})


@dataclass
class Places:
    """Mainland counties, where members are placed, as arrays by county index."""

    division: np.ndarray  # 6-digit GB/T 2260 code
    province: np.ndarray  # 6-digit province code, e.g. 110000
    prefix: pa.Array  # the province's short name, which starts the names of what is placed there
    weight: np.ndarray  # relative chance of being placed here
    zone: np.ndarray  # index of the national zone a member here may belong to, or NO_ZONE


@dataclass
class Zones:
    codes: pa.Array
    table: pd.DataFrame  # ref_zones with from_year / to_year
    from_year: np.ndarray
    to_year: np.ndarray

    def open_in(self, year: int) -> np.ndarray:
        return np.flatnonzero((self.from_year <= year) & (self.to_year >= year))


@dataclass
class World:
    years: range
    scale: Scale
    places: Places
    zones: Zones
    enterprises: Population  # one row per enterprise that ever exists in the simulated years
    institutions: Population  # universities and research institutes (technology sellers)
    carriers: Population  # incubation carriers


def _zones(years: range) -> Zones:
    table = pd.DataFrame(rows("ref_zones"))
    table["from_year"] = pd.to_numeric(table["approved_year"], errors="coerce").fillna(years.start).astype(int)
    table["to_year"] = pd.to_numeric(table["revoked_year"], errors="coerce").fillna(9999).astype(int)
    return Zones(pa.array(table["zone_code"].tolist(), pa.string()), table,
                 table["from_year"].to_numpy(), table["to_year"].to_numpy())


def _places(zones: Zones) -> Places:
    counties = load_reference().counties
    division = counties["division_code"].astype(np.int64).to_numpy()
    prefecture = pd.to_numeric(counties["prefecture_code"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
    # A zone belongs to its prefecture, or to a county-level city when it sits in one (that match wins).
    zone_of = {}
    for index, code in enumerate(zones.table["prefecture_code"]):
        if code:
            zone_of.setdefault(int(code), index)
    by_prefecture = np.array([zone_of.get(p, NO_ZONE) for p in prefecture])
    by_county = np.array([zone_of.get(d, NO_ZONE) for d in division])
    return Places(
        division=division,
        province=counties["province_code"].astype(np.int64).to_numpy(),
        prefix=pa.array(counties["prefix"].tolist(), pa.string()),
        weight=(counties["weight"] / counties["weight"].sum()).to_numpy(),
        zone=np.where(by_county != NO_ZONE, by_county, by_prefecture),
    )


def _place(rng: np.random.Generator, places: Places, n: int) -> np.ndarray:
    return rng.choice(len(places.division), size=n, p=places.weight)


def _lifetimes(rng: np.random.Generator, years: range, alive_at_start: int, entry_rate: float, exit_p: float):
    """First and last year of each member: `alive_at_start` in the first year, entries after, geometric exits."""
    start, end = years.start, years.stop - 1
    n = int(alive_at_start * (1 + entry_rate * (len(years) - 1)))
    first = np.full(n, start)
    if len(years) > 1:
        first[alive_at_start:] = rng.integers(start + 1, end + 1, size=n - alive_at_start)
    last = first + rng.geometric(exit_p, size=n) - 1
    return first, np.maximum(last, first)


def _zone_members(rng: np.random.Generator, places: Places, county: np.ndarray, share: float) -> np.ndarray:
    """The zone index of members placed where a national zone is, with probability `share`; NO_ZONE otherwise."""
    candidate = places.zone[county]
    return np.where((candidate != NO_ZONE) & (rng.random(len(county)) < share), candidate, NO_ZONE)


def _years_ago(year: np.ndarray, years_back: np.ndarray) -> np.ndarray:
    return (np.asarray(year) - np.asarray(years_back) - 1970).astype("datetime64[Y]").astype("datetime64[D]")


def _zone_counties(zones: Zones, places: Places) -> np.ndarray:
    """A county of each zone: the zone's own county-level city, else the first county of its prefecture, else of
    its province."""
    counties = load_reference().counties
    prefecture = counties["prefecture_code"].fillna("").to_numpy()
    division, province = counties["division_code"].to_numpy(), counties["province_code"].to_numpy()
    chosen = []
    for code, province_code in zip(zones.table["prefecture_code"].fillna(""), zones.table["province_code"]):
        hits = np.flatnonzero(division == code) if code else np.array([], int)
        if not len(hits) and code:
            hits = np.flatnonzero(prefecture == code)
        if not len(hits):
            hits = np.flatnonzero(province == province_code)
        chosen.append(hits[0])
    return np.array(chosen, np.int64)


def _zone_anchors(zones: Zones, places: Places, scale: Scale) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The enterprises that stay in each zone all the simulated years: their zone, county, and whether the zone
    leads."""
    per_zone = np.full(len(zones.table), max(1, round(scale.enterprises * ZONE_ANCHOR_SHARE)))
    leading = zones.table["zone_short"].map(LEADING_ZONES).fillna(0).to_numpy()
    per_zone = np.maximum(per_zone, np.round(leading * scale.enterprises)).astype(np.int64)
    zone = np.repeat(np.arange(len(per_zone)), per_zone)
    return zone, _zone_counties(zones, places)[zone], (leading > 0)[zone]


def build_world(rng: np.random.Generator, years: range, scale: Scale) -> World:
    zones = _zones(years)
    places = _places(zones)

    anchor_zone, anchor_county, anchor_leads = _zone_anchors(zones, places, scale)
    first, last = _lifetimes(rng, years, scale.enterprises - len(anchor_zone), entry_rate=0.08, exit_p=0.06)
    county = _place(rng, places, len(first))
    zone = _zone_members(rng, places, county, ZONE_MEMBERSHIP)
    first = np.concatenate([first, np.full(len(anchor_zone), years.start)])
    last = np.concatenate([last, np.full(len(anchor_zone), 9999)])
    county, zone = np.concatenate([county, anchor_county]), np.concatenate([zone, anchor_zone])
    leads = np.concatenate([np.zeros(len(county) - len(anchor_zone), bool), anchor_leads])
    n = len(first)
    age_at_entry = np.where(first == years.start, rng.integers(1, 25, n), rng.integers(0, 2, n))
    is_hte = rng.random(n) < HTE_SHARE

    def by_holding(draw) -> np.ndarray:
        return np.where(is_hte, draw("holder"), draw("other"))

    size = rng.lognormal(mean=3.6, sigma=1.2, size=n)  # employees when first seen, median ~37
    enterprises = Population(
        uscc=uscc_codes(rng, places.division[county]),
        seq=np.arange(n),
        county=county,
        zone=zone,
        first_year=first,
        last_year=last,
        established_on=_years_ago(first, age_at_entry) + rng.integers(0, 365, n),
        size=np.where(leads, rng.lognormal(*LEADING_ZONE_SIZE, size=n), size),
        growth=rng.normal(0.05, 0.10, size=n),
        rd_intensity=np.clip(by_holding(lambda k: rng.lognormal(np.log(RD_INTENSITY[k][0]), RD_INTENSITY[k][1], n)),
                             0.001, 0.4),
        hightech_share=by_holding(lambda k: rng.beta(*HIGHTECH_SHARE[k], size=n)),
        st_share=by_holding(lambda k: rng.beta(*ST_STAFF_SHARE[k], size=n)),
        is_hte=is_hte,
        hte_offset=rng.integers(0, 3, size=n),
        wants_sme=rng.random(n) < 0.55,
        listed=rng.random(n) < 0.01,
        tech_field=rng.integers(0, len(rows("ref_tech_fields")), n),
        industry=rng.integers(0, len(rows("ref_industries")), n),
        pilot=np.zeros(n, bool),
    )

    n_inst = max(20, scale.enterprises // 200)
    inst_county = _place(rng, places, n_inst)
    inst_type = rng.choice(len(INSTITUTION_MIX), size=n_inst, p=list(INSTITUTION_MIX.values()))
    institutions = Population(
        uscc=uscc_codes(rng, places.division[inst_county], authority="12"),  # 机构编制, 事业单位
        county=inst_county,
        party_type=inst_type,
    )

    c_first, c_last = _lifetimes(rng, years, scale.carriers, entry_rate=0.07, exit_p=0.04)
    n_car = len(c_first)
    car_county = _place(rng, places, n_car)
    carrier_type = rng.choice(len(CARRIER_MIX), size=n_car, p=list(CARRIER_MIX.values()))
    names = list(CARRIER_MIX)
    big = np.isin(carrier_type, [names.index(t) for t in ("孵化器", "加速器", "大学科技园")])
    carriers = Population(
        uscc=uscc_codes(rng, places.division[car_county]),
        seq=np.arange(n_car),
        county=car_county,
        zone=_zone_members(rng, places, car_county, 0.5),
        carrier_type=carrier_type,
        level=rng.choice(len(LEVEL_MIX), size=n_car, p=list(LEVEL_MIX.values())),
        specialised=(carrier_type == names.index("孵化器")) & (rng.random(n_car) < 0.3),
        first_year=c_first,
        last_year=c_last,
        established_on=_years_ago(c_first, rng.integers(0, 10, n_car)),
        area_total=np.round(np.where(big, rng.lognormal(np.log(18_000), 0.6, n_car), rng.lognormal(np.log(1_800), 0.6, n_car)), 1),
        capacity=np.where(big, rng.lognormal(np.log(70), 0.5, n_car), rng.lognormal(np.log(25), 0.5, n_car)),
    )
    return World(years, scale, places, zones, enterprises, institutions, carriers)
