"""Everything BI reads keeps its promises: enforced contracts, bilingual descriptions persisted to the database,
and the published table and column names of the warehouse issue."""

from __future__ import annotations

import json
import re

import pytest

from orchestration.defs.dbt import MANIFEST
from warehouse.publish import PUBLISHED_SCHEMAS

QUARTERLY_YTD = ["revenue_ytd", "industrial_output_ytd", "exports_ytd", "net_profit_ytd", "taxes_paid_ytd", "rd_expense_ytd"]
QUARTERLY_BASES = [m.removesuffix("_ytd") for m in QUARTERLY_YTD]
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{3,}")

# Names BI tools and analysts depend on (the warehouse issue); a model may add columns, never drop these.
PROMISED = {
    "dim_region": ["region_key", "division_code", "level", "province_code", "region"],
    "dim_zone": ["zone_key", "zone_code", "zone_name", "province_code", "region", "approved_year", "revoked_year", "status"],
    "dim_enterprise": ["enterprise_key", "uscc", "uscc_valid", "is_hte", "is_sme", "is_listed"],
    "dim_enterprise_label": ["enterprise_key", "label", "valid_from", "valid_to"],
    "dim_carrier": ["carrier_key", "uscc", "carrier_type"],
    "dim_period": ["period_key", "period"],
    "dim_tech_field": ["tech_field_key", "tech_field"],
    "dim_tech_market_field": ["tech_market_field_key", "tech_market_field"],
    "dim_industry": ["industry_key", "industry_code"],
    "dim_contract_type": ["contract_type_key", "contract_type"],
    "fct_enterprise_annual": ["filing_id", "uscc", "period", "enterprise_key", "revenue", "rd_expense"],
    "fct_carrier_annual": ["filing_id", "carrier_key", "period", "tenants", "area_total"],
    "fct_tech_contract": ["filing_id", "contract_no", "period", "contract_type", "amount", "tech_amount",
                          "tech_market_field_key"],
    "fct_zone_annual": ["filing_id", "zone_key", "period", "revenue", "employees"],
    "mart_hte_eligibility": ["uscc", "period", "eligible", "failed_criteria"],
    "mart_sme_evaluation": ["uscc", "period", "eligible_size", "score_st_staff", "score_rd", "score_ip", "score_total",
                            "direct_qualified", "qualified"],
    "mart_incubator_criteria": ["uscc", "period", "meets_national_criteria"],
    "mart_zone_evaluation": ["evaluation_version", "zone_code", "period", "score_total", "rank", "bottom_decile"],
    "mart_tech_market": ["period", "contract_type", "seller_type", "seller_province_code", "buyer_province_code",
                         "tech_market_field_key", "tech_field",
                         "contracts", "amount", "tech_amount"],
    "mart_region_summary": ["period", "province_code", "region", "enterprises", "hte_enterprises", "sme_enterprises",
                            "revenue", "rd_intensity"],
    # The quarterly economic-analysis feed: the fact, the zone mart and its roll-up.
    "fct_quarterly_report": ["filing_id", "revision", "submitted_at", "uscc", "zone_code", "period", "quarter",
                             *QUARTERLY_YTD, "employees"],
    "mart_quarterly_zone_economy": ["zone_code", "period", "quarter", "reporters", "panel_coverage",
                                    *(f"{m}{suffix}" for m in QUARTERLY_BASES for suffix in ("_ytd", "_q", "_yoy_comparable"))],
    "mart_quarterly_region_economy": ["region", "period", "quarter", "reporters",
                                      *(f"{m}{suffix}" for m in QUARTERLY_BASES for suffix in ("_ytd", "_q", "_yoy_comparable"))],
}


def published_models() -> dict[str, dict]:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in PUBLISHED_SCHEMAS
    }


def bilingual(text: str | None) -> bool:
    return bool(text and CHINESE.search(text) and ENGLISH.search(text))


@pytest.mark.parametrize("name", sorted(published_models()))
def test_published_model_has_an_enforced_contract_and_bilingual_persisted_docs(name: str):
    node = published_models()[name]
    config = node["config"]
    assert config["contract"]["enforced"], f"{name}: contract not enforced"
    assert config["persist_docs"] == {"relation": True, "columns": True}, f"{name}: docs not persisted"
    assert bilingual(node["description"]), f"{name}: the description needs Chinese and English"
    for column, spec in node["columns"].items():
        assert spec.get("data_type"), f"{name}.{column}: no data type in the contract"
        assert bilingual(spec.get("description")), f"{name}.{column}: the description needs Chinese and English"


def test_published_names_are_kept():
    models = published_models()
    for name, columns in PROMISED.items():
        assert name in models, f"{name} is not published"
        missing = [c for c in columns if c not in models[name]["columns"]]
        assert not missing, f"{name} lacks {missing}"
        assert models[name]["schema"] == "analytics"
