"""Each family's filings for one reporting year, drawn from the simulated world.

Every function returns an Arrow table keyed as the filing contract (money as float64 in the contract's unit) plus
who delivers each record as a file drop: `_province` (2-digit province) and `_day` (the China-time submission day,
days since 1970). Rows come in delivery order, by province, day and time: the day and time of each record are drawn
first and the rest is drawn in that order, so writing a day's file is a slice, never a gather of strings.
Revision 1 only; `corrections()` makes the later revisions.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.contracts import FOREIGN_REGION
from ingestion.reference import rows
from simulator.codes import digits, text
from simulator.green import green_columns
from simulator.world import (
    CARRIER_MIX,
    INSTITUTION_MIX,
    LEVEL_MIX,
    NO_ZONE,
    Population,
    World,
)

HTE_CERT_YEARS = 3  # a high-tech enterprise certificate is valid 3 years (domain-rules §4)
# 科技型中小企业 (domain-rules §5.1): at most 500 staff, 2亿元 (200,000 千元) revenue and 2亿元 total assets, and S&T
# staff of at least 10% (below it the S&T-staff score is 0, which excludes).
SME_MAX_EMPLOYEES, SME_MAX_REVENUE, SME_MAX_ASSETS, SME_MIN_ST_SHARE = 500, 200_000, 200_000, 0.10
CHINA_OFFSET_S = 8 * 3600
# Sellers by number of contracts, 2020 H1 全国技术市场快报 (domain-additions §2): 企业法人 94,243, 高等院校 23,508 and
# 科研机构 13,298 of 136,434 contracts; 其他 the rest.
SELLER_MIX = {"企业": 94_243 / 136_434, "高等院校": 23_508 / 136_434, "科研机构": 13_298 / 136_434,
              "其他": 5_385 / 136_434}
BUYER_MIX = {"企业": 0.86, "高等院校": 0.02, "科研机构": 0.04, "其他": 0.08}
PARTY_TYPES = list(SELLER_MIX)  # the same four types in both mixes
# Sellers' shares of contract value, 2020 (shared/seeds/003: 企业 2.58万亿元 = 91.4% of 成交额; 高校院所 1672.8亿元 of
# the year's 28,252亿元, ref_national_figures.csv); 其他 the rest. Each type's contracts are worth on average its
# share of value over its share of contracts.
SELLER_VALUE_SHARE = {"企业": 0.914, "高校院所": 1_672.8 / 28_252}
SELLER_VALUE_SHARE["其他"] = 1 - sum(SELLER_VALUE_SHARE.values())
# Buyers in the seller's province, among buyers that are enterprises or institutions: an assumption, the references
# publish no in-province share (domain-additions §2: NOT FOUND).
LOCAL_BUYER_SHARE = 0.65
# Contracts by technology field (全国技术市场统计, ref_tech_market_fields). Only the order of the first three is
# published (2020 H1 快报: 电子信息, 城市建设与社会发展, 先进制造); the weights are assumptions.
TECH_MARKET_FIELD_MIX = {
    "电子信息": 0.30, "城市建设与社会发展": 0.17, "先进制造": 0.15, "生物、医药和医疗器械": 0.07, "新能源与高效节能": 0.07,
    "环境保护与资源综合利用": 0.06, "现代交通": 0.06, "新材料及其应用": 0.05, "农业": 0.04, "航空航天": 0.02, "核应用": 0.01,
}
FOREIGN_SHARE_OF_OTHER = 0.3  # of parties typed 其他, those abroad (region code 900000)
CONTRACT_TYPE_MIX = {"技术服务": 0.46, "技术开发": 0.34, "技术咨询": 0.12, "技术转让": 0.05, "技术许可": 0.03}
LICENSING_SEPARATE_FROM = 2021  # 技术许可 is its own type under the Civil Code (domain-rules §8)
DELIVERY_ORDER = [("_province", "ascending"), ("_day", "ascending"), ("submitted_at", "ascending")]


@dataclass
class Filed:
    """One year's enterprise reports and, row for row, facts about who filed them that other families draw on."""

    table: pa.Table
    members: np.ndarray  # the filer's row in world.enterprises
    region: np.ndarray  # 6-digit division
    province: np.ndarray  # 2-digit province
    zone: np.ndarray  # index of the open national zone the enterprise is located in, or NO_ZONE

    def measure(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy()


def _strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _pick(values: list[str], index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """values[index] as an Arrow string column; rows not `valid` are null."""
    mask = None if valid is None else ~np.asarray(valid, bool)
    return _strings(values).take(pa.array(index, pa.int64(), mask=mask))


def _dates(years: np.ndarray, day_of_year: np.ndarray) -> np.ndarray:
    return (np.asarray(years) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.asarray(day_of_year)


def _day_numbers(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, "datetime64[D]").astype(np.int64)


def _office_seconds(rng: np.random.Generator, n: int, start_hour: int = 8, end_hour: int = 20) -> np.ndarray:
    """Seconds after China-time midnight, in office hours."""
    return rng.integers(start_hour * 3600, end_hour * 3600, n)


def _timestamps(day: np.ndarray, seconds: np.ndarray) -> pa.Array:
    """Instants (UTC) from China-time days and seconds after midnight."""
    utc = (np.asarray(day, np.int64) * 86_400 + seconds - CHINA_OFFSET_S) * 1_000_000
    return pa.array(utc, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _submission_days(rng: np.random.Generator, n: int, year: int, first_month_day: str, days: int) -> np.ndarray:
    """Each record's submission day: one of `days` weekly delivery days from a date in the year after `year`."""
    first = np.datetime64(f"{year + 1}-{first_month_day}")
    return _day_numbers(first + rng.integers(0, days, n) * 7)


def _next_batch_day(days: np.ndarray, every: int) -> np.ndarray:
    """The registry's next delivery day on or after each day (deliveries every `every` days from 1 January)."""
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    offset = (days - year_start).astype(np.int64)
    return _day_numbers(year_start + (offset + every - 1) // every * every)


def _in_delivery_order(province: np.ndarray, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return np.argsort((province * 100_000 + day) * 86_400 + seconds, kind="stable")


def _filers_in_delivery_order(rng: np.random.Generator, world: World, pop: Population, year: int,
                              due: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The members of `pop` alive in `year` as their provinces deliver them (by province, then submission time),
    with their province, submission day and second of the office day."""
    alive = np.flatnonzero((pop["first_year"] <= year) & (pop["last_year"] >= year))
    province = world.places.province[pop["county"][alive]] // 10_000
    day = _submission_days(rng, len(alive), year, due, world.scale.submission_days)
    seconds = _office_seconds(rng, len(alive))
    order = _in_delivery_order(province, day, seconds)
    return alive[order], province[order], day[order], seconds[order]


def _open_zones(world: World, year: int) -> np.ndarray:
    is_open = np.zeros(len(world.zones.from_year), bool)
    is_open[world.zones.open_in(year)] = True
    return is_open


def _if_open(world: World, year: int, zone: np.ndarray) -> np.ndarray:
    """The zone index where that zone is open in `year`, NO_ZONE elsewhere."""
    return np.where((zone != NO_ZONE) & _open_zones(world, year)[zone], zone, NO_ZONE)


def _common(filing_id: pa.Array, year: int, day: np.ndarray, seconds: np.ndarray) -> dict[str, pa.Array | np.ndarray]:
    """The fields every record carries, for first revisions."""
    n = len(filing_id)
    return {"filing_id": filing_id, "revision": np.ones(n, np.int64), "period": np.full(n, year, np.int64),
            "submitted_at": _timestamps(day, seconds)}


def _zone_codes(world: World, zone: np.ndarray) -> pa.Array:
    located = zone != NO_ZONE
    return world.zones.codes.take(pa.array(np.where(located, zone, 0), pa.int64(), mask=~located))


def enterprise_reports(rng: np.random.Generator, world: World, year: int) -> Filed:
    pop = world.enterprises
    members, province, day, seconds = _filers_in_delivery_order(rng, world, pop, year, "03-15")
    e = pop.take(members)
    n = len(members)

    age = year - e["first_year"]
    employees = np.maximum(1, np.round(e["size"] * (1 + e["growth"]) ** age * rng.lognormal(0, 0.05, n))).astype(np.int64)
    st_staff = np.minimum(employees, np.round(employees * e["st_share"] * rng.lognormal(0, 0.1, n))).astype(np.int64)
    rd_staff = np.floor(st_staff * rng.beta(5, 3, n)).astype(np.int64)
    graduates = np.floor(employees * rng.beta(4, 4, n)).astype(np.int64)
    revenue = np.round(employees * rng.lognormal(np.log(900), 0.7, n), 1)  # 千元
    rd_expense = np.round(revenue * e["rd_intensity"] * rng.lognormal(0, 0.15, n), 1)
    founded = e["established_on"].astype("datetime64[Y]").astype(np.int64) + 1970
    is_hte = e["is_hte"] & (year - founded >= 1)  # registered a year before it can apply
    cert_year = year - (year - e["hte_offset"]) % HTE_CERT_YEARS
    total_assets = np.round(revenue * rng.lognormal(0.2, 0.5, n), 1)
    # Registration needs the size caps and some S&T staff (a zero S&T-staff score excludes, domain-rules §5.1).
    is_sme = (e["wants_sme"] & (employees <= SME_MAX_EMPLOYEES) & (revenue <= SME_MAX_REVENUE)
              & (total_assets <= SME_MAX_ASSETS) & (st_staff >= SME_MIN_ST_SHARE * employees))
    region = world.places.division[e["county"]]
    zone = _if_open(world, year, e["zone"])
    seq7 = digits(e["seq"], 7)
    table = pa.table(
        {
            **_common(text(f"ENT-{year}-", e["uscc"]), year, day, seconds),
            "uscc": text(e["uscc"]),
            "name": pc.binary_join_element_wise(world.places.prefix.take(e["county"]), text(seq7), "科技有限公司", ""),
            "region_code": text(digits(region, 6)),
            "zone_code": _zone_codes(world, zone),
            "industry_code": _pick([r["industry_code"] for r in rows("ref_industries")], e["industry"]),
            "tech_field": _pick([r["tech_field"] for r in rows("ref_tech_fields")], e["tech_field"],
                                is_hte | (rng.random(n) < 0.5)),
            "established_on": e["established_on"],
            "hte_cert_no": text("GR", digits(cert_year, 4), digits(province, 2), seq7, valid=is_hte),
            "hte_cert_date": pa.array(_dates(cert_year, np.full(n, 323)), pa.date32(), mask=~is_hte),
            "sme_reg_no": text(str(year), digits(region, 6), seq7, valid=is_sme),
            "employees": employees,
            "st_staff": st_staff,
            "rd_staff": rd_staff,
            "graduates": graduates,
            "revenue": revenue,
            "hightech_revenue": np.round(revenue * e["hightech_share"], 1),
            "industrial_output": np.round(revenue * rng.uniform(0, 1.1, n), 1),
            "net_profit": np.round(revenue * rng.normal(0.06, 0.08, n), 1),
            "taxes_paid": np.round(revenue * rng.uniform(0.01, 0.06, n), 1),
            "exports": np.round(revenue * np.where(rng.random(n) < 0.2, rng.uniform(0, 0.5, n), 0), 1),
            "total_assets": total_assets,
            "total_cost": np.round(revenue * rng.uniform(0.7, 1.0, n), 1),
            "rd_expense": rd_expense,
            "rd_expense_domestic": np.round(rd_expense * rng.beta(12, 1, n), 1),
            "patent_applications": rng.poisson(np.maximum(0.2, rd_staff / 8)),
            "invention_grants": rng.poisson(np.maximum(0.05, rd_staff / 40)),
            "valid_invention_patents": rng.poisson(np.where(is_hte, 3.0, 0.6)),
            "class2_ip": rng.poisson(np.where(is_hte, 6.0, 2.0)),
            "pct_applications": rng.poisson(0.1, n),
            "energy_tce": np.round(employees * rng.lognormal(0, 0.8, n), 2),
            "listed": e["listed"],
            "contact_phone": text("1", digits(rng.integers(3_000_000_000, 9_999_999_999, n), 10)),
            "_province": province,
            "_day": day,
            "_pilot": e["pilot"],
        }
    )
    return Filed(table, members, region, province, zone)


def with_revisions(filed: Filed, fixes: pa.Table, fixed_rows: np.ndarray) -> Filed:
    """The enterprise reports as their latest revisions say (corrections change a measure, never who filed)."""
    if not len(fixed_rows):
        return filed
    table = filed.table
    for name in CORRECTED_MEASURE["enterprise"]:
        values = table[name].to_numpy().copy()
        values[fixed_rows] = fixes[name].to_numpy()
        table = replace_column(table, name, values)
    return Filed(table, filed.members, filed.region, filed.province, filed.zone)


def incubator_reports(rng: np.random.Generator, world: World, year: int, filed: Filed) -> tuple[pa.Table, pa.Table]:
    """The incubator family's filings (one annual report per carrier), and the tenancies behind them: young filing
    enterprises hosted in a carrier of their province.

    A carrier's tenants are those filing enterprises plus start-ups too small to file a Torch enterprise report.
    """
    members, province, day, seconds = _filers_in_delivery_order(rng, world, world.carriers, year, "02-20")
    c = world.carriers.take(members)
    n = len(c)

    # Young filers, a share of them hosted by a carrier of their province picked at random.
    first_year = world.enterprises["first_year"][filed.members]
    hosted = np.flatnonzero(((year - first_year) <= 3) & (rng.random(len(first_year)) < 0.3))
    by_province = np.argsort(province, kind="stable")
    lo = np.searchsorted(province[by_province], filed.province[hosted], "left")
    hi = np.searchsorted(province[by_province], filed.province[hosted], "right")
    has_carrier = hi > lo
    hosted, lo, hi = hosted[has_carrier], lo[has_carrier], hi[has_carrier]
    host = by_province[lo + (rng.random(len(hosted)) * (hi - lo)).astype(np.int64)]
    tenancy = pa.table({"carrier_uscc": text(c["uscc"][host]), "enterprise_uscc": filed.table["uscc"].take(hosted),
                        "period": np.full(len(hosted), year, np.int64)})
    linked = np.bincount(host, minlength=n)
    linked_employees = np.bincount(host, weights=filed.measure("employees")[hosted], minlength=n)
    linked_revenue = np.bincount(host, weights=filed.measure("revenue")[hosted], minlength=n)
    linked_rd = np.bincount(host, weights=filed.measure("rd_expense")[hosted], minlength=n)

    startups = rng.poisson(c["capacity"])
    tenants = linked + startups
    area_total = c["area_total"]
    staff = rng.poisson(10, n) + 2
    carrier_types = list(CARRIER_MIX)
    is_space = c["carrier_type"] == carrier_types.index("众创空间")
    zone = _if_open(world, year, c["zone"])
    table = pa.table(
        {
            **_common(text(f"INC-{year}-", c["uscc"]), year, day, seconds),
            "uscc": text(c["uscc"]),
            "name": pc.binary_join_element_wise(world.places.prefix.take(c["county"]), text(digits(c["seq"], 5)),
                                                _pick(["科技企业孵化器", "创客空间"], is_space.astype(np.int64)), ""),
            "carrier_type": _pick(carrier_types, c["carrier_type"]),
            "level": _pick(list(LEVEL_MIX), c["level"]),
            "specialised": c["specialised"],
            "region_code": text(digits(world.places.division[c["county"]], 6)),
            "zone_code": _zone_codes(world, zone),
            "established_on": c["established_on"],
            "area_total": area_total,
            "area_tenants": np.round(area_total * rng.uniform(0.6, 0.95, n), 1),
            "tenants": tenants,
            "new_tenants": rng.binomial(tenants, 0.3),
            "graduated_total": rng.poisson(np.maximum(1, (year - c["first_year"] + 3) * tenants / 6)),
            "graduated_this_year": rng.binomial(tenants, 0.1),
            "tenant_employees": (linked_employees + startups * rng.uniform(3, 9, n)).round().astype(np.int64),
            "tenant_revenue": np.round(linked_revenue + startups * rng.lognormal(np.log(800), 0.5, n), 1),
            "tenant_rd_expense": np.round(linked_rd + startups * rng.lognormal(np.log(80), 0.5, n), 1),
            "tenants_with_patent_apps": rng.binomial(tenants, rng.beta(5, 5, n)),
            "tenants_with_valid_ip": rng.binomial(tenants, rng.beta(4, 6, n)),
            "tenants_financed": rng.binomial(tenants, rng.beta(2, 12, n)),
            "seed_fund": np.round(rng.lognormal(np.log(5_000), 0.8, n), 1),
            "fund_cases": rng.poisson(4, n),
            "staff": staff,
            "staff_professional": rng.binomial(staff, 0.8),
            "mentors": rng.poisson(np.maximum(1, tenants / 8)),
            "years_reported": year - c["first_year"] + 1 + rng.integers(0, 3, n),
            "_province": province,
            "_day": day,
        }
    )
    return table, tenancy


def _parties(rng: np.random.Generator, mix: dict[str, float], n: int, cumulative: np.ndarray, world: World) -> Population:
    """Who is on one side of `n` contracts: a type, and the filing enterprise or institution it is, if any.

    Enterprises are picked with chances in proportion to `cumulative`'s steps (its running total)."""
    kind = rng.choice(len(mix), size=n, p=list(mix.values()))
    enterprise = np.minimum(np.searchsorted(cumulative, rng.random(n) * cumulative[-1], "right"), len(cumulative) - 1)
    institution = rng.integers(0, len(world.institutions), n)
    return Population(kind=kind, enterprise=enterprise, institution=institution,
                      foreign=(kind == PARTY_TYPES.index("其他")) & (rng.random(n) < FOREIGN_SHARE_OF_OTHER))


class _PartyPool:
    """Every possible contract party in one index: the year's filing enterprises, the institutions, then two
    parties without a code (境外机构 abroad, 个人 at home). A party column is then one take from the pool."""

    def __init__(self, world: World, filed: Filed):
        inst = world.institutions
        self.world, self.filed = world, filed
        self.n_enterprises, self.n_institutions = len(filed.members), len(inst)
        self.abroad, self.person = self.n_enterprises + self.n_institutions, self.n_enterprises + self.n_institutions + 1
        inst_types = list(INSTITUTION_MIX)
        inst_names = pc.binary_join_element_wise(
            world.places.prefix.take(inst["county"]),
            _pick(["理工大学" if t == "高等院校" else "科学研究院" for t in inst_types], inst["party_type"]),
            text(digits(np.arange(len(inst)), 4)), "")
        self.names = pa.concat_arrays([filed.table["name"].combine_chunks(), inst_names, _strings(["境外机构", "个人"])])
        self.usccs = np.vstack([world.enterprises["uscc"][filed.members], inst["uscc"]])
        self.regions = np.concatenate([filed.region, world.places.division[inst["county"]], [int(FOREIGN_REGION), 0]])
        self.inst_type = np.array([PARTY_TYPES.index(t) for t in inst_types])[inst["party_type"]]

    def index(self, side: Population) -> np.ndarray:
        is_ent = side["kind"] == PARTY_TYPES.index("企业")
        is_inst = np.isin(side["kind"], [PARTY_TYPES.index("高等院校"), PARTY_TYPES.index("科研机构")])
        return np.where(is_ent, side["enterprise"], np.where(
            is_inst, self.n_enterprises + side["institution"], np.where(side["foreign"], self.abroad, self.person)))

    def party_type(self, index: np.ndarray, side: Population) -> np.ndarray:
        is_inst = (index >= self.n_enterprises) & (index < self.abroad)
        return np.where(is_inst, self.inst_type[np.clip(index - self.n_enterprises, 0, self.n_institutions - 1)], side["kind"])

    def columns(self, prefix: str, index: np.ndarray, kind: np.ndarray, region: np.ndarray) -> dict[str, pa.Array]:
        coded = index < self.abroad
        return {
            f"{prefix}_uscc": text(self.usccs[np.where(coded, index, 0)], valid=coded),
            f"{prefix}_name": self.names.take(index),
            f"{prefix}_type": _pick(PARTY_TYPES, kind),
            f"{prefix}_region_code": text(digits(region, 6)),
        }


def _in_province(rng: np.random.Generator, chosen: np.ndarray, province: np.ndarray, weight: np.ndarray,
                 target: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """`chosen` (indices into members), but where `wanted` a member of province `target` instead, picked with chances
    in proportion to `weight`, if that province has members."""
    order = np.argsort(province, kind="stable")
    cumulative = np.cumsum(weight[order])
    lo = np.searchsorted(province[order], target, "left")
    hi = np.searchsorted(province[order], target, "right")
    start = np.where(lo > 0, cumulative[np.maximum(lo - 1, 0)], 0.0)
    end = cumulative[np.maximum(hi - 1, 0)]
    pick = np.searchsorted(cumulative, start + rng.random(len(chosen)) * (end - start), "right")
    pick = np.clip(pick, lo, np.maximum(hi - 1, lo))
    return np.where(wanted & (hi > lo), order[np.minimum(pick, len(order) - 1)], chosen)


def _value_factor(kind: np.ndarray) -> np.ndarray:
    """Each seller type's average contract value against the average contract (SELLER_VALUE_SHARE, SELLER_MIX)."""
    institution = SELLER_MIX["高等院校"] + SELLER_MIX["科研机构"]
    factor = {"企业": SELLER_VALUE_SHARE["企业"] / SELLER_MIX["企业"],
              "高等院校": SELLER_VALUE_SHARE["高校院所"] / institution,
              "科研机构": SELLER_VALUE_SHARE["高校院所"] / institution,
              "其他": SELLER_VALUE_SHARE["其他"] / SELLER_MIX["其他"]}
    return np.array([factor[t] for t in PARTY_TYPES])[kind]


def contract_records(
    rng: np.random.Generator, world: World, year: int, filed: Filed, count: int, total_wan: float
) -> pa.Table:
    """`count` registered technology contracts worth `total_wan` 万元 in all (calibrated by the caller)."""
    n = count
    # Bigger enterprises trade more: chances grow with the square root of revenue.
    weight = np.sqrt(filed.measure("revenue") + 1)
    cumulative = np.cumsum(weight)
    pool = _PartyPool(world, filed)
    seller_side, buyer_side = _parties(rng, SELLER_MIX, n, cumulative, world), _parties(rng, BUYER_MIX, n, cumulative, world)
    seller = pool.index(seller_side)
    # Most buyers are in the seller's province (LOCAL_BUYER_SHARE).
    local = rng.random(n) < LOCAL_BUYER_SHARE
    seller_province = pool.regions[seller] // 10_000
    buyer_side["enterprise"] = _in_province(rng, buyer_side["enterprise"], filed.province, weight, seller_province, local)
    institutions = world.institutions
    buyer_side["institution"] = _in_province(
        rng, buyer_side["institution"], world.places.province[institutions["county"]] // 10_000,
        np.ones(len(institutions)), seller_province, local)
    buyer = pool.index(buyer_side)
    seller_region, buyer_region = pool.regions[seller], pool.regions[buyer]
    # Individuals register where the other party is; everyone else where the seller is.
    seller_region = np.where(seller_region == 0, buyer_region, seller_region)
    fallback = world.places.division[rng.integers(0, len(world.places.division), n)]
    seller_region = np.where(seller_region == 0, fallback, seller_region)
    buyer_region = np.where(buyer_region == 0, seller_region, buyer_region)
    foreign = int(FOREIGN_REGION)
    registry_region = np.where(seller_region == foreign, buyer_region, seller_region)
    registry_region = np.where(registry_region == foreign, fallback, registry_region)

    mix = dict(CONTRACT_TYPE_MIX)
    if year < LICENSING_SEPARATE_FROM:
        mix["技术转让"] += mix.pop("技术许可")
    signed_day = rng.integers(0, 330, n)
    signed = _dates(np.full(n, year), signed_day)
    registered = signed + np.minimum(rng.integers(0, 60, n), 364 - signed_day)
    day = _next_batch_day(registered, world.scale.contract_batch_days)
    seconds = _office_seconds(rng, n)
    province = registry_region // 10_000
    order = _in_delivery_order(province, day, seconds)

    seller_kind = pool.party_type(seller, seller_side)
    amount = rng.lognormal(0, 1.8, n) * _value_factor(seller_kind)
    amount = np.maximum(0.01, np.round(amount * total_wan / amount.sum(), 2))
    d = Population(seller=seller, buyer=buyer, seller_region=seller_region, buyer_region=buyer_region,
                   registry_region=registry_region, signed=signed, registered=registered, day=day, seconds=seconds,
                   province=province, amount=amount,
                   seller_kind=seller_kind, buyer_kind=pool.party_type(buyer, buyer_side)
                   ).take(order)
    contract_no = np.hstack([digits(np.full(n, year), 4), digits(d["registry_region"], 6), digits(np.arange(n), 8)])
    ip_types = [r["ip_type"] for r in rows("ref_ip_types")]
    tech_fields = [r["tech_market_field"] for r in rows("ref_tech_market_fields")]
    field_weights = [TECH_MARKET_FIELD_MIX[f] for f in tech_fields]
    return pa.table(
        {
            **_common(text("CON-", contract_no), year, d["day"], d["seconds"]),
            "contract_no": text(contract_no),
            "registry_code": text("R", digits(d["province"], 2), "00"),
            "registry_region_code": text(digits(d["registry_region"], 6)),
            "contract_type": _pick(list(mix), rng.choice(len(mix), size=n, p=list(mix.values()))),
            "signed_on": d["signed"],
            "registered_on": d["registered"],
            **pool.columns("seller", d["seller"], d["seller_kind"], d["seller_region"]),
            **pool.columns("buyer", d["buyer"], d["buyer_kind"], d["buyer_region"]),
            "amount": d["amount"],
            "tech_amount": np.round(d["amount"] * rng.beta(8, 2, n), 2),
            "tech_field": _pick(tech_fields, rng.choice(len(tech_fields), size=n, p=field_weights)),
            "ip_type": _pick(ip_types, rng.integers(0, len(ip_types), n)),
            "_province": d["province"],
            "_day": d["day"],
        }
    )


ZONE_SUMS = ("employees", "revenue", "industrial_output", "net_profit", "taxes_paid", "exports", "rd_expense",
             "rd_staff", "energy_tce")


def zone_reports(rng: np.random.Generator, world: World, year: int, filed: Filed) -> pa.Table:
    """One report per national zone open in `year`, its totals summed from the enterprises located in it."""
    open_zones = world.zones.open_in(year)
    n_all = len(world.zones.from_year)
    located = filed.zone != NO_ZONE
    zone = filed.zone[located]

    def total(values: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(zone, weights=None if values is None else values[located], minlength=n_all)[open_zones]

    sums = {name: total(filed.measure(name).astype(np.float64)) for name in ZONE_SUMS}
    first_year = world.enterprises["first_year"][filed.members]
    new_enterprises = total((first_year == year).astype(np.float64))
    info = world.zones.table.iloc[open_zones]
    n = len(open_zones)
    # A zone's planned area is a constant of the zone: drawn from its code, the same in every year.
    area = np.array([np.round(np.random.default_rng(zlib.crc32(z.encode())).lognormal(np.log(60), 0.8), 2)
                     for z in info["zone_code"]])
    province = info["province_code"].astype(np.int64).to_numpy() // 10_000
    day = _submission_days(rng, n, year, "04-10", 2)
    seconds = _office_seconds(rng, n)
    table = pa.table(
        {
            **_common(_strings([f"ZON-{year}-{z}" for z in info["zone_code"]]), year, day, seconds),
            "zone_code": _strings(info["zone_code"].tolist()),
            "zone_name": _strings(info["zone_name"].tolist()),
            "province_code": _strings(info["province_code"].tolist()),
            "enterprises": total().astype(np.int64),
            "employees": sums["employees"].astype(np.int64),
            "revenue": np.round(sums["revenue"], 1),
            "industrial_output": np.round(sums["industrial_output"], 1),
            "net_profit": np.round(sums["net_profit"], 1),
            "taxes_paid": np.round(sums["taxes_paid"], 1),
            "exports": np.round(sums["exports"], 1),
            "gdp": np.round(sums["revenue"] * 0.22, 1),
            "city_gdp": np.round(np.maximum(sums["revenue"] * 0.22 * 3, 1) * rng.lognormal(1.0, 0.3, n), 1),
            "rd_expense": np.round(sums["rd_expense"], 1),
            "rd_fte": np.round(sums["rd_staff"] * 0.85, 1),
            "rd_institutions": rng.poisson(np.maximum(1, total() / 50)),
            "new_enterprises": new_enterprises.astype(np.int64),
            "energy_tce": np.round(sums["energy_tce"], 2),
            "co2_tonnes": np.round(sums["energy_tce"] * 2.6, 2),
            "green_ratio": np.round(rng.uniform(0.30, 0.45, n), 4),
            "area_km2": area,
            **green_columns(info["zone_code"].tolist(), year, sums["energy_tce"], sums["revenue"]),
            "_province": province,
            "_day": day,
        }
    )
    return table.sort_by(DELIVERY_ORDER)


# Zone reports correct a figure they do not sum from enterprises, so they keep agreeing with their enterprises.
CORRECTED_MEASURE = {"enterprise": ("revenue",), "incubator": ("tenant_revenue",), "contract": ("amount",), "zone": ("gdp",)}


def corrections(
    rng: np.random.Generator, records: pa.Table, family: str, share: float, last_year: int
) -> tuple[pa.Table, np.ndarray]:
    """Revision 2 of a share of the filings, submitted later (some in a following reporting season), and the rows
    of `records` they revise."""
    fixed_rows = np.flatnonzero(rng.random(len(records)) < share)
    fixes = records.take(fixed_rows)
    if not len(fixed_rows):
        return fixes, fixed_rows
    n = len(fixed_rows)
    late = int(records["period"][0].as_py()) < last_year
    # Provinces send corrections with their weekly deliveries: a whole number of weeks after the first revision.
    delay = 7 * rng.integers(5, 57 if late else 17, n)
    columns = {
        "revision": np.full(n, 2, np.int64),
        "submitted_at": pc.add(fixes["submitted_at"], pa.array(delay * 86_400_000_000, pa.duration("us"))),
        "_day": fixes["_day"].to_numpy() + delay,
    }
    factor = rng.uniform(1.0, 1.05, n)  # corrections that raise a total keep every `<=` rule true
    for measure in CORRECTED_MEASURE[family]:
        columns[measure] = np.round(fixes[measure].to_numpy() * factor, 2)
    if family == "contract":
        columns["tech_amount"] = np.minimum(fixes["tech_amount"].to_numpy(), columns["amount"])
    for name, values in columns.items():
        fixes = replace_column(fixes, name, values)
    return fixes, fixed_rows


def replace_column(table: pa.Table, name: str, values) -> pa.Table:
    """`table` with column `name` holding `values` (numpy or Arrow), in the column's type."""
    field = table.schema.field(name)
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, field.type)
    return table.set_column(table.schema.get_field_index(name), field, values.cast(field.type))
