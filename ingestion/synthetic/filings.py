"""Each family's filings for one reporting year, drawn from the simulated world.

Every function returns typed records keyed as the filing contract (money as floats in the contract's unit), plus
`_province` (who delivers the record as a file drop). Revision 1 only; `corrections()` makes the later revisions.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from ingestion.contracts import FOREIGN_REGION
from ingestion.reference import rows
from ingestion.synthetic.world import World

HTE_CERT_YEARS = 3  # a high-tech enterprise certificate is valid 3 years (domain-rules §4)
SME_MAX_EMPLOYEES, SME_MAX_REVENUE = 500, 200_000  # 科技型中小企业 size limits: 500 staff, 2亿元 = 200,000 千元
CHINA = "Asia/Shanghai"
SELLER_MIX = {"企业": 0.70, "高等院校": 0.09, "科研机构": 0.13, "其他": 0.08}
BUYER_MIX = {"企业": 0.86, "高等院校": 0.02, "科研机构": 0.04, "其他": 0.08}
FOREIGN_SHARE_OF_OTHER = 0.3  # of parties typed 其他, those abroad (region code 900000)
CONTRACT_TYPE_MIX = {"技术服务": 0.46, "技术开发": 0.34, "技术咨询": 0.12, "技术转让": 0.05, "技术许可": 0.03}
LICENSING_SEPARATE_FROM = 2021  # 技术许可 is its own type under the Civil Code (domain-rules §8)


def _dates(years: np.ndarray, day_of_year: np.ndarray) -> np.ndarray:
    return (np.asarray(years) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.asarray(day_of_year)


def _china_times(days: np.ndarray, rng: np.random.Generator, start_hour: int = 8, end_hour: int = 20) -> pd.Series:
    """Timestamps on those days, in office hours, China time."""
    minutes = rng.integers(start_hour * 60, end_hour * 60, len(days))
    naive = pd.to_datetime(days) + pd.to_timedelta(minutes, unit="min") + pd.to_timedelta(rng.integers(0, 60, len(days)), unit="s")
    return pd.Series(naive).dt.tz_localize(CHINA)


def _submission_days(rng: np.random.Generator, n: int, year: int, first_month_day: str, days: int) -> np.ndarray:
    """Each record's submission day: one of `days` weekly delivery days from a date in the year after `year`."""
    first = np.datetime64(f"{year + 1}-{first_month_day}")
    return first + rng.integers(0, days, n) * 7


def _next_batch_day(days: np.ndarray, every: int) -> np.ndarray:
    """The registry's next delivery day on or after each day (deliveries every `every` days from 1 January)."""
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    offset = (days - year_start).astype(np.int64)
    return year_start + (offset + every - 1) // every * every


def open_zones(world: World, year: int) -> pd.DataFrame:
    zones = world.zones
    return zones[(zones.from_year <= year) & (zones.to_year >= year)].reset_index(drop=True)


def enterprise_reports(rng: np.random.Generator, world: World, year: int) -> pd.DataFrame:
    pop = world.enterprises
    alive = pop[(pop.first_year <= year) & (pop.last_year >= year)].reset_index(drop=True)
    n = len(alive)
    age = year - alive.first_year.to_numpy()
    employees = np.maximum(1, np.round(alive["size"].to_numpy() * (1 + alive["growth"].to_numpy()) ** age * rng.lognormal(0, 0.05, n))).astype(np.int64)
    st_staff = np.floor(employees * np.clip(rng.beta(3, 5, n), 0.02, 1)).astype(np.int64)
    rd_staff = np.floor(st_staff * rng.beta(5, 3, n)).astype(np.int64)
    graduates = np.floor(employees * rng.beta(4, 4, n)).astype(np.int64)
    revenue = np.round(employees * rng.lognormal(np.log(900), 0.7, n), 1)  # 千元
    rd_expense = np.round(revenue * alive["rd_intensity"].to_numpy() * rng.lognormal(0, 0.15, n), 1)
    founded = alive["established_on"].to_numpy().astype("datetime64[Y]").astype(np.int64) + 1970
    is_hte = alive["is_hte"].to_numpy() & (year - founded >= 1)  # registered a year before it can apply
    cert_year = year - (year - alive["hte_offset"].to_numpy()) % HTE_CERT_YEARS
    is_sme = alive["wants_sme"].to_numpy() & (employees <= SME_MAX_EMPLOYEES) & (revenue <= SME_MAX_REVENUE)
    zone = alive["zone_code"]
    zone_ok = zone.isin(open_zones(world, year)["zone_code"])
    region6 = alive["region_code"].str[:6]
    submitted = _china_times(_submission_days(rng, n, year, "03-15", world.scale.submission_days), rng)
    reports = pd.DataFrame(
        {
            "filing_id": "ENT-" + str(year) + "-" + alive["uscc"],
            "revision": 1,
            "period": year,
            "submitted_at": submitted,
            "uscc": alive["uscc"],
            "name": alive["prefix"] + alive["seq"].astype(str).str.zfill(7) + "科技有限公司",
            "region_code": alive["region_code"],
            "zone_code": zone.where(zone_ok.to_numpy(), None),
            "industry_code": alive["industry_code"],
            "tech_field": np.where(is_hte | (rng.random(n) < 0.5), alive["tech_field"], None),
            "established_on": alive["established_on"],
            "hte_cert_no": np.where(is_hte, "GR" + pd.Series(cert_year).astype(str) + region6.str[:2] + alive["seq"].astype(str).str.zfill(7), None),
            "hte_cert_date": np.where(is_hte, _dates(cert_year, np.full(n, 323)), np.datetime64("NaT")),
            "sme_reg_no": np.where(is_sme, str(year) + region6 + alive["seq"].astype(str).str.zfill(7), None),
            "employees": employees,
            "st_staff": st_staff,
            "rd_staff": rd_staff,
            "graduates": graduates,
            "revenue": revenue,
            "hightech_revenue": np.round(revenue * alive["hightech_share"].to_numpy(), 1),
            "industrial_output": np.round(revenue * rng.uniform(0, 1.1, n), 1),
            "net_profit": np.round(revenue * rng.normal(0.06, 0.08, n), 1),
            "taxes_paid": np.round(revenue * rng.uniform(0.01, 0.06, n), 1),
            "exports": np.round(revenue * np.where(rng.random(n) < 0.2, rng.uniform(0, 0.5, n), 0), 1),
            "total_assets": np.round(revenue * rng.lognormal(0.2, 0.5, n), 1),
            "total_cost": np.round(revenue * rng.uniform(0.7, 1.0, n), 1),
            "rd_expense": rd_expense,
            "rd_expense_domestic": np.round(rd_expense * rng.beta(12, 1, n), 1),
            "patent_applications": rng.poisson(np.maximum(0.2, rd_staff / 8)),
            "invention_grants": rng.poisson(np.maximum(0.05, rd_staff / 40)),
            "valid_invention_patents": rng.poisson(np.where(is_hte, 3.0, 0.6)),
            "class2_ip": rng.poisson(np.where(is_hte, 6.0, 2.0)),
            "pct_applications": rng.poisson(0.1, n),
            "energy_tce": np.round(employees * rng.lognormal(0, 0.8, n), 2),
            "listed": alive["listed"].to_numpy(),
            "contact_phone": "1" + pd.Series(rng.integers(3_000_000_000, 9_999_999_999, n)).astype(str),
            "_province": alive["province_code"],
            "_first_year": alive["first_year"],
        }
    )
    return reports


def carrier_reports(rng: np.random.Generator, world: World, year: int, enterprises: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carrier reports, and the tenancies behind them: young filing enterprises hosted in a carrier of their province.

    A carrier's tenants are those filing enterprises plus start-ups too small to file a Torch enterprise report.
    """
    pop = world.carriers
    alive = pop[(pop.first_year <= year) & (pop.last_year >= year)].reset_index(drop=True)
    n = len(alive)
    young = enterprises[(year - enterprises["_first_year"]) <= 3]
    hosted = young[rng.random(len(young)) < 0.3]
    by_province = alive.groupby("province_code").indices
    carrier_idx = np.full(len(hosted), -1)
    for province, members in by_province.items():
        mask = (hosted["_province"] == province).to_numpy()
        carrier_idx[mask] = rng.choice(members, size=int(mask.sum()))
    tenancy = pd.DataFrame({"carrier_uscc": alive["uscc"].to_numpy()[carrier_idx[carrier_idx >= 0]],
                            "enterprise_uscc": hosted["uscc"].to_numpy()[carrier_idx >= 0], "period": year})
    hosted = hosted[carrier_idx >= 0]
    linked_idx = carrier_idx[carrier_idx >= 0]
    linked = np.bincount(linked_idx, minlength=n)
    linked_employees = np.bincount(linked_idx, weights=hosted["employees"].to_numpy(), minlength=n)
    linked_revenue = np.bincount(linked_idx, weights=hosted["revenue"].to_numpy(), minlength=n)
    linked_rd = np.bincount(linked_idx, weights=hosted["rd_expense"].to_numpy(), minlength=n)
    startups = rng.poisson(alive["capacity"].to_numpy())
    tenants = linked + startups
    area_total = alive["area_total"].to_numpy()
    staff = rng.poisson(10, n) + 2
    submitted = _china_times(_submission_days(rng, n, year, "02-20", world.scale.submission_days), rng)
    reports = pd.DataFrame(
        {
            "filing_id": "INC-" + str(year) + "-" + alive["uscc"],
            "revision": 1,
            "period": year,
            "submitted_at": submitted,
            "uscc": alive["uscc"],
            "name": alive["prefix"] + alive["seq"].astype(str).str.zfill(5) + np.where(alive["carrier_type"] == "众创空间", "创客空间", "科技企业孵化器"),
            "carrier_type": alive["carrier_type"],
            "level": alive["level"],
            "specialised": alive["specialised"],
            "region_code": alive["region_code"],
            "zone_code": alive["zone_code"],
            "established_on": alive["established_on"],
            "area_total": area_total,
            "area_tenants": np.round(area_total * rng.uniform(0.6, 0.95, n), 1),
            "tenants": tenants,
            "new_tenants": rng.binomial(tenants, 0.3),
            "graduated_total": rng.poisson(np.maximum(1, (year - alive["first_year"].to_numpy() + 3) * tenants / 6)),
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
            "years_reported": year - alive["first_year"].to_numpy() + 1 + rng.integers(0, 3, n),
            "_province": alive["province_code"],
        }
    )
    return reports, tenancy


def contract_records(
    rng: np.random.Generator, world: World, year: int, enterprises: pd.DataFrame, count: int, total_wan: float
) -> pd.DataFrame:
    """`count` registered technology contracts worth `total_wan` 万元 in all (calibrated by the caller)."""
    n = count
    institutions = world.institutions
    candidates = enterprises[["uscc", "name", "region_code"]]  # only what a party needs: sampling copies it
    weights = np.sqrt(enterprises["revenue"].to_numpy() + 1)
    weights = weights / weights.sum()

    def parties(mix: dict[str, float]) -> pd.DataFrame:
        kind = rng.choice(list(mix), size=n, p=list(mix.values()))
        ent = candidates.iloc[rng.choice(len(candidates), size=n, p=weights)]
        inst = institutions.iloc[rng.integers(0, len(institutions), n)]
        is_ent, is_inst = kind == "企业", np.isin(kind, ["高等院校", "科研机构"])
        foreign = (kind == "其他") & (rng.random(n) < FOREIGN_SHARE_OF_OTHER)
        uscc = np.where(is_ent, ent["uscc"].to_numpy(), np.where(is_inst, inst["uscc"].to_numpy(), None))
        name = np.where(is_ent, ent["name"].to_numpy(), np.where(is_inst, inst["name"].to_numpy(), np.where(foreign, "境外机构", "个人")))
        region = np.where(is_ent, ent["region_code"].to_numpy(), np.where(is_inst, inst["region_code"].to_numpy(), None))
        region = np.where(foreign, FOREIGN_REGION, region)
        inst_kind = np.where(is_inst, inst["party_type"].to_numpy(), kind)
        return pd.DataFrame({"uscc": uscc, "name": name, "type": np.where(is_inst, inst_kind, kind), "region": region})

    seller, buyer = parties(SELLER_MIX), parties(BUYER_MIX)
    # Individuals register where the other party is; everyone else where the seller is.
    seller["region"] = seller["region"].fillna(buyer["region"])
    buyer["region"] = buyer["region"].fillna(seller["region"])
    fallback = world.reference.counties["division_code"].to_numpy()[rng.integers(0, len(world.reference.counties), n)]
    seller["region"] = seller["region"].fillna(pd.Series(fallback))
    buyer["region"] = buyer["region"].fillna(seller["region"])
    registry_region = np.where(seller["region"] == FOREIGN_REGION, buyer["region"], seller["region"])
    registry_region = np.where(registry_region == FOREIGN_REGION, fallback, registry_region)

    mix = dict(CONTRACT_TYPE_MIX)
    if year < LICENSING_SEPARATE_FROM:
        mix["技术转让"] += mix.pop("技术许可")
    contract_type = rng.choice(list(mix), size=n, p=list(mix.values()))
    amount = rng.lognormal(0, 1.8, n)
    amount = np.maximum(0.01, np.round(amount * total_wan / amount.sum(), 2))
    signed_day = rng.integers(0, 330, n)
    signed = _dates(np.full(n, year), signed_day)
    registered = signed + np.minimum(rng.integers(0, 60, n), 364 - signed_day)
    seq = pd.Series(np.arange(n)).astype(str).str.zfill(8)
    contract_no = str(year) + pd.Series(registry_region).str[:6] + seq
    ip_types = [r["ip_type"] for r in rows("ref_ip_types")]
    return pd.DataFrame(
        {
            "filing_id": "CON-" + contract_no,
            "revision": 1,
            "period": year,
            "submitted_at": _china_times(_next_batch_day(registered, world.scale.contract_batch_days), rng),
            "contract_no": contract_no,
            "registry_code": "R" + pd.Series(registry_region).str[:2] + "00",
            "registry_region_code": registry_region,
            "contract_type": contract_type,
            "signed_on": signed,
            "registered_on": registered,
            "seller_uscc": seller["uscc"],
            "seller_name": seller["name"],
            "seller_type": seller["type"],
            "seller_region_code": seller["region"],
            "buyer_uscc": buyer["uscc"],
            "buyer_name": buyer["name"],
            "buyer_type": buyer["type"],
            "buyer_region_code": buyer["region"],
            "amount": amount,
            "tech_amount": np.round(amount * rng.beta(8, 2, n), 2),
            "tech_field": rng.choice([r["tech_field"] for r in rows("ref_tech_fields")], size=n),
            "ip_type": rng.choice(ip_types, size=n),
            "_province": pd.Series(registry_region).str[:2] + "0000",
        }
    )


def zone_reports(rng: np.random.Generator, world: World, year: int, enterprises: pd.DataFrame) -> pd.DataFrame:
    """One report per national zone open in `year`, its totals summed from the enterprises located in it."""
    zones = open_zones(world, year)
    members = enterprises[enterprises["zone_code"].notna()]
    sums = members.groupby("zone_code").agg(
        enterprises=("uscc", "size"),
        employees=("employees", "sum"),
        revenue=("revenue", "sum"),
        industrial_output=("industrial_output", "sum"),
        net_profit=("net_profit", "sum"),
        taxes_paid=("taxes_paid", "sum"),
        exports=("exports", "sum"),
        rd_expense=("rd_expense", "sum"),
        rd_staff=("rd_staff", "sum"),
        energy_tce=("energy_tce", "sum"),
        new_enterprises=("_first_year", lambda s: int((s == year).sum())),
    )
    agg = zones[["zone_code"]].join(sums, on="zone_code").fillna(0)
    n = len(zones)
    # A zone's planned area is a constant of the zone: drawn from its code, the same in every year.
    area = np.array([np.round(np.random.default_rng(zlib.crc32(z.encode())).lognormal(np.log(60), 0.8), 2) for z in zones["zone_code"]])
    submitted = _china_times(_submission_days(rng, n, year, "04-10", 2), rng)
    return pd.DataFrame(
        {
            "filing_id": "ZON-" + str(year) + "-" + zones["zone_code"],
            "revision": 1,
            "period": year,
            "submitted_at": submitted,
            "zone_code": zones["zone_code"],
            "zone_name": zones["zone_name"],
            "province_code": zones["province_code"],
            "enterprises": agg["enterprises"].astype(np.int64),
            "employees": agg["employees"].astype(np.int64),
            "revenue": np.round(agg["revenue"], 1),
            "industrial_output": np.round(agg["industrial_output"], 1),
            "net_profit": np.round(agg["net_profit"], 1),
            "taxes_paid": np.round(agg["taxes_paid"], 1),
            "exports": np.round(agg["exports"], 1),
            "gdp": np.round(agg["revenue"] * 0.22, 1),
            "city_gdp": np.round(np.maximum(agg["revenue"] * 0.22 * 3, 1) * rng.lognormal(1.0, 0.3, n), 1),
            "rd_expense": np.round(agg["rd_expense"], 1),
            "rd_fte": np.round(agg["rd_staff"] * 0.85, 1),
            "rd_institutions": rng.poisson(np.maximum(1, agg["enterprises"] / 50)),
            "new_enterprises": agg["new_enterprises"].astype(np.int64),
            "energy_tce": np.round(agg["energy_tce"], 2),
            "co2_tonnes": np.round(agg["energy_tce"] * 2.6, 2),
            "green_ratio": np.round(rng.uniform(0.30, 0.45, n), 4),
            "area_km2": area,
            "_province": zones["province_code"],
        }
    )


# Zone reports correct a figure they do not sum from enterprises, so they keep agreeing with their enterprises.
CORRECTED_MEASURE = {"enterprise": "revenue", "incubator": "tenant_revenue", "contract": "amount", "zone": "gdp"}


def corrections(rng: np.random.Generator, records: pd.DataFrame, family: str, share: float, last_year: int) -> pd.DataFrame:
    """Revision 2 of a share of the filings, submitted later (some in a following reporting season)."""
    fixed = records[rng.random(len(records)) < share].copy()
    if fixed.empty:
        return fixed
    fixed["revision"] = 2
    delay = rng.integers(30, 400 if int(fixed["period"].iloc[0]) < last_year else 120, len(fixed))
    fixed["submitted_at"] = fixed["submitted_at"] + pd.to_timedelta(delay, unit="D")
    measure = CORRECTED_MEASURE[family]
    factor = rng.uniform(1.0, 1.05, len(fixed))  # corrections that raise a total keep every `<=` rule true
    fixed[measure] = np.round(fixed[measure] * factor, 2)
    if family == "contract":
        fixed["tech_amount"] = np.minimum(fixed["tech_amount"], fixed["amount"])
    return fixed
