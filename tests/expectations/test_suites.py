"""Every gate passes on the published sample and fails, naming the rule and counting rows, on a copy built to break it;
every published model has a suite. Breaks of what dbt's tests own (keys, accepted values, score scales) are in
tests/dbt/test_data_tests.py.

The warehouse is the session's `published_sample` (tests/conftest.py). A break copies its build database, turns the
raw views it changes into tables, and changes rows; the suite is then validated on the copy.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import duckdb
import pytest

from expectations.runner import GateSession, validate_suites
from expectations.suites import SUITES, STAGES, for_stage, stage_of
from orchestration.settings import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PUBLISHED_FOLDERS = ("marts", "ops")  # models under these folders are what BI reads


def editable(*views: str) -> list[str]:
    """Statements that turn raw views into tables holding the same rows, so a break can change them."""
    statements = []
    for view in views:
        schema, name = view.split(".")
        statements += [f"CREATE TABLE {schema}.{name}__rows AS SELECT * FROM {view}", f"DROP VIEW {view}",
                       f"ALTER TABLE {schema}.{name}__rows RENAME TO {name}"]
    return statements


def first(table: str, where: str = "true", n: int = 1) -> str:
    return f"rowid IN (SELECT rowid FROM {table} WHERE {where} ORDER BY rowid LIMIT {n})"


def again(table: str, replace: str, where: str = "true") -> str:
    """Insert one row of `table` a second time, with `replace` (a `* REPLACE` item) changed."""
    return f"INSERT INTO {table} SELECT * REPLACE ({replace}) FROM {table} WHERE {where} LIMIT 1"


# suite -> {case: (statements, the expectation or rule that must fail)}
BREAKS: dict[str, dict[str, tuple[list[str], str]]] = {
    "raw_enterprise": {
        "a revision delivered twice with different content": (editable("raw.enterprise_files") + [
            "INSERT INTO raw.enterprise_files SELECT * REPLACE (revenue + 1 AS revenue, 'again.csv' AS _source) "
            "FROM raw.enterprise_files WHERE revenue IS NOT NULL LIMIT 1"], "one_content_per_revision"),
        "st_staff above employees": (editable("raw.enterprise_files") + [
            "UPDATE raw.enterprise_files SET st_staff = employees + 1 WHERE "
            + first("raw.enterprise_files", "employees IS NOT NULL", 2)], "contract_ranges_and_rules"),
        "an unknown high-tech field": (editable("raw.enterprise_files") + [
            "UPDATE raw.enterprise_files SET tech_field = '区块链' WHERE " + first("raw.enterprise_files")],
            "tech_field_in_ref_tech_fields"),
        "a missing key": (editable("raw.enterprise_files") + [
            "UPDATE raw.enterprise_files SET uscc = NULL WHERE " + first("raw.enterprise_files")],
            "expect_column_values_to_not_be_null"),
    },
    "raw_enterprise_warnings": {
        "a province's filings halved": (editable("raw.enterprise_files") + [
            "DELETE FROM raw.enterprise_files WHERE region_code LIKE '44%' "
            "AND period = (SELECT max(period) FROM raw.enterprise_files)"], "no_drift_between_periods"),
    },
    "raw_incubator": {
        "tenants' area above the total": (editable("raw.incubator_files") + [
            "UPDATE raw.incubator_files SET area_tenants = area_total + 1 WHERE "
            + first("raw.incubator_files", "area_total IS NOT NULL")], "contract_ranges_and_rules"),
    },
    "raw_incubator_warnings": {
        "no deliveries yet": (editable("raw.incubator_files", "raw.incubator_api") + [
            "DELETE FROM raw.incubator_files", "DELETE FROM raw.incubator_api"], "has_deliveries"),
    },
    "raw_contract": {
        "a licence registered before licences existed": (editable("raw.contract_files") + [
            "UPDATE raw.contract_files SET contract_type = '技术许可', period = 2019 WHERE "
            + first("raw.contract_files")], "contract_type_valid_in_period"),
        "成交额 above the national total (元 taken for 万元)": (editable("raw.contract_files") + [
            "UPDATE raw.contract_files SET period = 2021, amount = 500000000, tech_amount = 0 WHERE "
            + first("raw.contract_files", "contract_type <> '技术许可'")], "within_national_figures"),
        "a high-tech field where a technology-market field belongs": (editable("raw.contract_files") + [
            "UPDATE raw.contract_files SET tech_field = '先进制造与自动化' WHERE " + first("raw.contract_files")],
            "tech_field_in_ref_tech_market_fields"),
    },
    "raw_contract_warnings": {
        "a national-scale year short of the published count": (editable("raw.contract_files") + [
            "INSERT INTO raw.contract_files SELECT c.* REPLACE ('SHORT-' || t.i AS filing_id, 2021 AS period, "
            "1 AS amount, 0 AS tech_amount) FROM (SELECT * FROM raw.contract_files WHERE contract_type <> '技术许可' "
            "LIMIT 1) c CROSS JOIN range(400000) t(i)"], "reaches_national_figures"),
    },
    "raw_zone": {
        "a zone reporting fewer enterprises than filed in it": (editable("raw.zone_files") + [
            "UPDATE raw.zone_files SET enterprises = 0 WHERE rowid IN (SELECT z.rowid FROM raw.zone_files z "
            "JOIN raw.enterprise_files e ON e.zone_code = z.zone_code AND e.period = z.period LIMIT 1)"],
            "zone_report_covers_its_enterprises"),
        "more zones than exist nationally": (editable("raw.zone_files") + [
            "INSERT INTO raw.zone_files SELECT z.* REPLACE ('ZX-' || t.i AS filing_id, 'ZX0' || t.i AS zone_code) "
            "FROM (SELECT * FROM raw.zone_files WHERE period = 2023 LIMIT 1) z CROSS JOIN range(10) t(i)"],
            "within_national_figures"),
        "a zone whose energy carriers exceed its 综合能源消费量": (editable("raw.zone_files") + [
            "UPDATE raw.zone_files SET coal_tce = coal_tce + energy_tce WHERE "
            + first("raw.zone_files", "energy_tce > 0")], "contract_ranges_and_rules"),
    },
    "raw_zone_warnings": {
        "a zone reporting far more enterprises than filed": (editable("raw.zone_files") + [
            "UPDATE raw.zone_files SET enterprises = enterprises * 3 + 10 WHERE " + first("raw.zone_files", "true", 3)],
            "zone_enterprises_delivered"),
    },
    "fct_enterprise_annual": {
        "two reports for one enterprise and year": ([
            "INSERT INTO analytics.fct_enterprise_annual SELECT * REPLACE (filing_id || '-AGAIN' AS filing_id) "
            "FROM analytics.fct_enterprise_annual LIMIT 1"], "one_report_per_enterprise_and_year"),
        "more high-tech enterprises than exist nationally": ([
            "INSERT INTO analytics.fct_enterprise_annual SELECT f.* REPLACE ('HTE-' || t.i AS filing_id, "
            "'HTE' || t.i AS uscc, 2023 AS period, 'GR2023' || t.i AS hte_cert_no) FROM "
            "(SELECT * FROM analytics.fct_enterprise_annual LIMIT 1) f CROSS JOIN range(600000) t(i)"],
            "within_national_figures"),
    },
    "fct_enterprise_annual_warnings": {
        "a national-scale year short of the published count": ([
            "INSERT INTO analytics.fct_enterprise_annual SELECT f.* REPLACE ('HTE-' || t.i AS filing_id, "
            "'HTE' || t.i AS uscc, 2023 AS period, 'GR2023' || t.i AS hte_cert_no) FROM "
            "(SELECT * FROM analytics.fct_enterprise_annual LIMIT 1) f CROSS JOIN range(300000) t(i)"],
            "reaches_national_figures"),
    },
    "dim_enterprise": {
        "no missing member": (["DELETE FROM analytics.dim_enterprise WHERE uscc = '-1'"], "one_missing_member"),
    },
    "dim_carrier": {
        "a province that does not exist": ([
            "UPDATE analytics.dim_carrier SET province_code = '990000' WHERE "
            + first("analytics.dim_carrier", "carrier_key <> '-1'")], "province_code_in_ref_provinces"),
    },
    "dim_contract_type": {
        "no missing member": (["DELETE FROM analytics.dim_contract_type WHERE contract_type_key = '-1'"],
                              "one_missing_member"),
    },
    "dim_enterprise_label": {
        "a validity period ending before it starts": ([
            "UPDATE analytics.dim_enterprise_label SET valid_to = valid_from - 1 WHERE "
            + first("analytics.dim_enterprise_label")], "valid_from_not_after_valid_to"),
    },
    "dim_industry": {
        "no missing member": (["DELETE FROM analytics.dim_industry WHERE industry_key = '-1'"], "one_missing_member"),
    },
    "dim_period": {
        "a year starting in February": ([
            "UPDATE analytics.dim_period SET year_start = year_start + 31 WHERE "
            + first("analytics.dim_period", "period IS NOT NULL")], "calendar_years"),
    },
    "dim_region": {
        "no missing member": (["DELETE FROM analytics.dim_region WHERE region_key = '-1'"], "one_missing_member"),
    },
    "dim_tech_field": {
        "a second missing member": ([again("analytics.dim_tech_field", "'(none)' AS tech_field", "tech_field_key = '-1'")],
                                    "one_missing_member"),
    },
    "dim_tech_market_field": {
        "a second missing member": ([again("analytics.dim_tech_market_field", "'(none)' AS tech_market_field",
                                           "tech_market_field_key = '-1'")], "one_missing_member"),
    },
    "dim_zone": {
        "a zone revoked before it was approved": ([
            "UPDATE analytics.dim_zone SET approved_year = 2020, revoked_year = 2019 WHERE "
            + first("analytics.dim_zone", "zone_key <> '-1'")], "approved_before_revoked"),
    },
    "fct_carrier_annual": {
        "more professional staff than staff": ([
            "UPDATE analytics.fct_carrier_annual SET staff_professional = staff + 1 WHERE "
            + first("analytics.fct_carrier_annual", "staff IS NOT NULL")], "contract_ranges_and_rules"),
    },
    "fct_tech_contract": {
        "a technology part above the contract amount": ([
            "UPDATE analytics.fct_tech_contract SET tech_amount = amount + 1 WHERE "
            + first("analytics.fct_tech_contract", "amount IS NOT NULL")], "contract_ranges_and_rules"),
    },
    "dim_zone_year": {
        "a zone listed before its approval": ([
            "UPDATE analytics.dim_zone_year SET year = coalesce(approved_year, approved_by_year) - 1 WHERE "
            + first("analytics.dim_zone_year")], "national_from_approval_until_revocation"),
    },
    "fct_zone_annual": {
        "a zone's year filed twice": ([again("analytics.fct_zone_annual", "filing_id || '-AGAIN' AS filing_id")],
                                      "one_report_per_zone_and_year"),
    },
    "mart_hte_eligibility": {
        "eligible without enough IP": ([
            "UPDATE analytics.mart_hte_eligibility SET eligible = true, ip_pass = false WHERE "
            + first("analytics.mart_hte_eligibility")], "eligible_only_when_every_criterion_passes"),
    },
    "mart_incubator_criteria": {
        "meeting the common criteria without the seed fund": ([
            "UPDATE analytics.mart_incubator_criteria SET meets_common_criteria = true, seed_fund_pass = false WHERE "
            + first("analytics.mart_incubator_criteria")], "common_only_when_every_criterion_passes"),
    },
    "mart_region_summary": {
        "more high-tech enterprises than enterprises": ([
            "UPDATE analytics.mart_region_summary SET hte_enterprises = enterprises + 1 WHERE "
            + first("analytics.mart_region_summary", "enterprises IS NOT NULL")], "counts_and_amounts_not_negative"),
    },
    "mart_sme_evaluation": {
        "qualified above the size limits": ([
            "UPDATE analytics.mart_sme_evaluation SET qualified = true, eligible_size = false WHERE "
            + first("analytics.mart_sme_evaluation")], "qualified_only_when_size_and_score_or_certificate_pass"),
    },
    "mart_tech_market": {
        "a technology part above the amount": ([
            "UPDATE analytics.mart_tech_market SET tech_amount = amount + 1 WHERE "
            + first("analytics.mart_tech_market", "amount IS NOT NULL")], "tech_amount_within_amount"),
    },
    "mart_zone_evaluation": {
        "a rank beyond the zones evaluated": ([
            "UPDATE analytics.mart_zone_evaluation SET rank = zones_evaluated + 1 WHERE "
            + first("analytics.mart_zone_evaluation")], "rank_among_zones_evaluated"),
    },
    "mart_zone_green_account": {
        "a zone's electricity without a CO₂ factor": ([
            "UPDATE analytics.mart_zone_green_account SET co2_electricity_t = NULL, co2_t = NULL WHERE "
            + first("analytics.mart_zone_green_account", "electricity_10k_kwh IS NOT NULL")],
            "co2_factors_cover_every_carrier_and_year"),
        "a zone report without an account": ([
            "DELETE FROM analytics.mart_zone_green_account WHERE " + first("analytics.mart_zone_green_account")],
            "every_zone_report_has_an_account"),
    },
    "mart_region_green_account": {
        "more zones with an account than zones": ([
            "UPDATE analytics.mart_region_green_account SET zones_with_account = zones + 1 WHERE "
            + first("analytics.mart_region_green_account")], "zones_with_account_within_zones"),
    },
    "mart_zone_indicator_scores": {
        "more points than the indicator has": ([
            "UPDATE analytics.mart_zone_indicator_scores SET points = points_available + 1 WHERE "
            + first("analytics.mart_zone_indicator_scores", "points_available IS NOT NULL")],
            "points_within_points_available"),
    },
    "raw_quarterly": {
        "a fifth quarter": (editable("raw.quarterly_files") + [
            "UPDATE raw.quarterly_files SET quarter = 5 WHERE " + first("raw.quarterly_files")],
            "contract_ranges_and_rules"),
    },
    "raw_quarterly_warnings": {
        "no quarterly reports yet": (editable("raw.quarterly_files", "raw.quarterly_api") + [
            "DELETE FROM raw.quarterly_files", "DELETE FROM raw.quarterly_api"], "has_deliveries"),
    },
    "fct_quarterly_report": {
        "a quarter filed under two filing ids": ([
            again("analytics.fct_quarterly_report", "filing_id || '-again' AS filing_id")],
            "one_report_per_reporter_and_quarter"),
    },
    "fct_quarterly_report_warnings": {
        "a zone's fourth quarter twice its annual report": ([
            "UPDATE analytics.fct_quarterly_report SET revenue_ytd = revenue_ytd * 2 WHERE "
            + first("analytics.fct_quarterly_report", "quarter = 4 AND reporter_type = 'zone' AND revenue_ytd > 0", 3)],
            "q4_reconciles_with_annual"),
    },
    "mart_quarterly_zone_economy": {
        "more comparable reporters than reporters": ([
            "UPDATE analytics.mart_quarterly_zone_economy SET reporters_comparable = reporters + 1 WHERE "
            + first("analytics.mart_quarterly_zone_economy")], "reporter_counts_consistent"),
    },
    "mart_quarterly_zone_economy_warnings": {
        "a zone whose panel reports nothing": ([
            "UPDATE analytics.mart_quarterly_zone_economy SET reporters = 0 WHERE "
            + first("analytics.mart_quarterly_zone_economy", "reporters > 0", 3)], "panel_coverage"),
    },
    "mart_quarterly_region_economy": {
        "a region that is none": ([
            "UPDATE analytics.mart_quarterly_region_economy SET region = '华北' WHERE "
            + first("analytics.mart_quarterly_region_economy", "region <> '全国'")], "known_regions"),
    },
    "ingest_accounting": {
        "the ledger counting a row raw does not hold": ([
            "UPDATE ops.ingest_accounting SET rows_landed = rows_landed + 1 WHERE "
            + first("ops.ingest_accounting", "is_current")], "ledger_agrees_with_raw"),
    },
    "quarantine": {
        "a quarantined record cut short": (editable("raw.quarantine") + [
            "UPDATE raw.quarantine SET record = '{\"uscc\": ' WHERE " + first("raw.quarantine")],
            "quarantined_records_readable"),
    },
}
CASES = [(suite, case) for suite, cases in BREAKS.items() for case in cases]


def test_every_published_model_has_a_suite():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    published = {
        f"{node['schema']}.{node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["path"].split("/")[0] in PUBLISHED_FOLDERS
    }
    guarded = {s.batch for s in SUITES.values() if s.blocking}
    missing = sorted(published - guarded)
    assert not missing, f"published models without a blocking suite in expectations/published.py: {missing}"


def test_every_suite_has_a_fixture_built_to_break_it():
    assert sorted(SUITES) == sorted(BREAKS), "add a break for each new suite to BREAKS"


def test_suites_split_into_raw_and_published_steps():
    assert {stage_of(s) for s in SUITES.values()} == set(STAGES)
    assert all(s.name.startswith("raw_") for s in for_stage("raw"))


@cache
def _unexpected(db: Path, suite: str) -> dict[str, int]:
    with GateSession(db) as session:
        result = session.validate(SUITES[suite])
    return {f.expectation: f.unexpected_count or 0 for f in result.failures}


def test_blocking_suites_pass_on_the_published_sample_and_write_data_docs(published_sample, tmp_path: Path):
    # A copy of the build database: the last line takes a writer's lock, which other workers' readers would block.
    build = tmp_path / "build.duckdb"
    shutil.copyfile(published_sample.settings.build_db, build)
    results = validate_suites(build, list(SUITES.values()), tmp_path / "quality")
    failed = [r.summary() for r in results if r.blocking and not r.passed]
    assert not failed, "\n".join(failed)
    for result in results:
        assert result.docs_page and Path(result.docs_page.removeprefix("file://")).is_file()
    assert (tmp_path / "quality" / "docs" / "index.html").is_file()
    duckdb.connect(str(build)).close()  # the gates hold no lock once they are done


@pytest.mark.parametrize("suite,case", CASES, ids=[f"{s}: {c}" for s, c in CASES])
def test_a_fixture_built_to_break_a_suite_fails_it(published_sample, tmp_path: Path, suite: str, case: str):
    statements, expected = BREAKS[suite][case]
    broken = tmp_path / "build.duckdb"
    shutil.copyfile(published_sample.settings.build_db, broken)
    con = duckdb.connect(str(broken))
    for statement in statements:
        con.execute(statement)
    con.close()
    with GateSession(broken) as session:
        result = session.validate(SUITES[suite])
    assert not result.passed
    failures = {f.expectation: f for f in result.failures}
    assert expected in failures, result.summary()
    assert failures[expected].unexpected_count > _unexpected(published_sample.settings.build_db, suite).get(expected, 0)
    assert failures[expected].sample, "a failed expectation shows a few of the rows that broke it"
