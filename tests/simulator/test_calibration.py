"""The simulated world against published national figures: a province-scale generation, once, compared with each
figure within its stated tolerance. Where the references publish no figure, the bound is the simulator's stated
assumption (docs/simulator.md) and says so."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ingestion.reference import rows
from simulator.generate import generate
from simulator.world import LEADING_ZONES

YEARS = range(2020, 2022)  # 2020: the year of the seller figures below
SEED = 20


@dataclass(frozen=True)
class Figure:
    name: str
    published: float
    tolerance: float  # absolute, in the figure's unit
    source: str


# 2020 national figures. Seed 003 is shared/seeds/003_4ac35ea37953853b.txt, a 2023 compilation of science and technology
# policy that reprints the 技术要素市场 plan's review of 2020 (the paragraph "技术要素市场创新主体交易更加活跃").
FIGURES = {
    f.name: f
    for f in (
        Figure("enterprise_share_of_value", 0.914, 0.03,
               "seed 003: 2020 企业 output 2.58万亿元 = 91.4% of 全国技术交易金额"),
        Figure("university_institute_share_of_value", 1_672.8 / 28_252, 0.02,
               "seed 003: 2020 高校院所 output 1672.8亿元; of 28,252亿元 (ref_national_figures tech_contract_value 2020)"),
        Figure("enterprise_share_of_contracts", 38.54 / 54.94, 0.03,
               "seed 003: 2020 企业 38.54万项 of 54.94万项 (2020 H1 快报, domain-additions §2: 94,243 of 136,434 = 69.1%)"),
        Figure("university_institute_share_of_contracts", 14.39 / 54.94, 0.03,
               "seed 003: 2020 高校院所 14.39万项 of 54.94万项"),
        Figure("average_contract_value_wan", 514.27, 514.27 * 0.05,
               "seed 003: 2020 平均每项技术合同成交额 514.27万元"),
        Figure("hte_share_of_reports", 463_000 / 1_000_000, 0.05,
               "domain-rules §4.2: 46.3万 高新技术企业 (2023); filing-formats.md: ~1,000,000 enterprise reports a year"),
    )
}
# The order of the largest fields by contract value (2020 H1 全国技术市场快报, domain-additions §2).
TOP_FIELDS = ["电子信息", "城市建设与社会发展", "先进制造"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("calibration")
    generate(out, "province", YEARS, seed=SEED, channel="api")
    defective = set(pd.read_csv(out / "manifest" / "defects.csv", dtype=str)["filing_id"].dropna())
    tables = {}
    for family in ("enterprise", "contract", "zone"):
        table = pq.read_table(out / "api" / f"{family}.parquet").to_pandas()
        # First revisions as the world drew them, without the records a defect was injected into.
        tables[family] = table[(table["revision"] == 1) & ~table["filing_id"].isin(defective)].copy()
    for family, money in (("enterprise", ["revenue", "hightech_revenue", "rd_expense", "total_assets"]),
                          ("contract", ["amount"]), ("zone", ["revenue"])):
        for column in money:
            tables[family][column] = tables[family][column].astype(float)
    return tables


def _within(observed: float, figure: Figure) -> None:
    assert abs(observed - figure.published) <= figure.tolerance, (
        f"{figure.name}: simulated {observed:.4f}, published {figure.published:.4f} ± {figure.tolerance:.4f} "
        f"({figure.source})")


def test_sellers_supply_contract_value_as_published(generated):
    contracts = generated["contract"]
    contracts = contracts[contracts["period"] == 2020]
    value = contracts.groupby("seller_type")["amount"].sum() / contracts["amount"].sum()
    count = contracts["seller_type"].value_counts(normalize=True)
    _within(value["企业"], FIGURES["enterprise_share_of_value"])
    _within(value["高等院校"] + value["科研机构"], FIGURES["university_institute_share_of_value"])
    _within(count["企业"], FIGURES["enterprise_share_of_contracts"])
    _within(count["高等院校"] + count["科研机构"], FIGURES["university_institute_share_of_contracts"])
    _within(contracts["amount"].mean(), FIGURES["average_contract_value_wan"])


def test_contracts_are_in_the_technology_market_fields_led_by_the_published_three(generated):
    contracts = generated["contract"]
    assert set(contracts["tech_field"]) <= {r["tech_market_field"] for r in rows("ref_tech_market_fields")}
    for _, year in contracts.groupby("period"):
        by_value = year.groupby("tech_field")["amount"].sum().sort_values(ascending=False)
        assert list(by_value.index[:3]) == TOP_FIELDS, by_value.head(5)


def test_most_contracts_stay_in_the_sellers_province(generated):
    # No published figure (domain-additions §2: NOT FOUND): the bound is the simulator's assumption, most but not all.
    contracts = generated["contract"]
    domestic = contracts[(contracts["seller_region_code"] != "900000") & (contracts["buyer_region_code"] != "900000")]
    same = domestic["seller_region_code"].str[:2] == domestic["buyer_region_code"].str[:2]
    assert 0.55 <= same.mean() <= 0.85
    assert 0.55 <= domestic.loc[same, "amount"].sum() / domestic["amount"].sum() <= 0.85


def _meets_hte_criteria(reports: pd.DataFrame) -> pd.Series:
    """The HTE criteria a single report can show (domain-rules §4.1 (4)-(6); bands from ref_hte_rd_bands)."""
    bands = sorted(rows("ref_hte_rd_bands"), key=lambda r: int(r["band"]))
    minimum = pd.Series(float(bands[-1]["min_rd_ratio"]), index=reports.index)
    for band in reversed(bands[:-1]):
        minimum[reports["revenue"] <= float(band["revenue_upper_thousand_yuan"])] = float(band["min_rd_ratio"])
    return ((reports["rd_expense"] >= minimum * reports["revenue"])
            & (reports["hightech_revenue"] >= 0.6 * reports["revenue"])
            & (reports["st_staff"] >= 0.1 * reports["employees"]))


def test_certificate_holders_mostly_meet_the_criteria_and_others_mostly_do_not(generated):
    reports = generated["enterprise"]
    holder = reports["hte_cert_no"].notna()
    _within(holder.mean(), FIGURES["hte_share_of_reports"])
    meets = _meets_hte_criteria(reports)
    # No pass rate is published: the bounds are the simulator's assumption (most holders, few others).
    assert meets[holder].mean() >= 0.8
    assert meets[~holder].mean() <= 0.15


def test_registered_smes_respect_the_size_caps(generated):
    reports = generated["enterprise"]
    sme = reports[reports["sme_reg_no"].notna()]
    assert len(sme) > 0.2 * len(reports)
    # domain-rules §5.1 (2): staff ≤ 500, revenue ≤ 2亿元 and total assets ≤ 2亿元 (200,000 千元), all inclusive.
    assert (sme["employees"] <= 500).all()
    assert (sme["revenue"] <= 200_000).all() and (sme["total_assets"] <= 200_000).all()
    # A zero S&T-staff score excludes (domain-rules §5.1 (5)).
    assert (sme["st_staff"] >= 0.1 * sme["employees"]).all()


def test_every_zone_has_employees_and_the_leading_zones_lead_every_year(generated):
    zones = generated["zone"]
    assert (zones["employees"] > 0).all()
    shorts = {r["zone_code"]: r["zone_short"] for r in rows("ref_zones")}
    for _, year in zones.groupby("period"):
        top = year.sort_values("revenue", ascending=False)["zone_code"].map(shorts).head(len(LEADING_ZONES) + 2)
        assert set(LEADING_ZONES) <= set(top), list(top)
