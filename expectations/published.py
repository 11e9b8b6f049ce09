"""Gates on the published models: what a reader of the numbers relies on beyond dbt's own tests. Those hold each
model's keys (unique, not null), relationships, accepted values and score scales inside `dbt build`, and are
blocking checks too; a suite here never repeats one (expectations/suites.py says who owns what).

A suite for a new published model is a function of `gxe` returning its expectations, plus one `model_suite` line
in SUITES. `tests/expectations/test_suites.py` fails while a published model has no suite, and while a suite has no
fixture built to break it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from expectations import quarterly
from expectations.national import Bound, not_above, short_of
from expectations.raw import CHANNELS
from expectations.rules import (
    IN_SET,
    RANGE,
    UNIQUE,
    checks,
    contract_violations,
    in_reference,
    no_rows,
    not_null,
    sql_literal,
)
from expectations.suite import Suite, model_suite
from ingestion.contracts import CONTRACT, ENTERPRISE, FAMILIES, FOREIGN_REGION, INCUBATOR, ZONE, Family

# High-tech enterprises: filings of the period that report a certificate number.
HTE_COUNT = Bound("hte_count", "sum(CASE WHEN hte_cert_no IS NOT NULL THEN 1 ELSE 0 END)")
ENTERPRISE_MEASURES = [f.key for f in ENTERPRISE.fields if not f.personal]


def fct_enterprise_annual(gxe: Any) -> list[Any]:
    return [
        unique("one_report_per_enterprise_and_year", "uscc", "period"),
        *not_null(gxe, "amount_unit_suspect", "source_channel"),
        contract_violations(ENTERPRISE, ENTERPRISE_MEASURES),
        in_reference("tech_field", "ref_tech_fields"),
        in_reference("industry_code", "ref_industries"),
        in_reference("zone_code", "ref_zones"),
        in_reference("province_code", "ref_provinces"),
        gxe.ExpectColumnValuesToBeInSet(column="source_channel", value_set=list(CHANNELS)),
        not_above([HTE_COUNT], "batch"),
    ]


def fct_enterprise_annual_warnings(gxe: Any) -> list[Any]:
    return [short_of([HTE_COUNT], "batch")]


def dim_enterprise(gxe: Any) -> list[Any]:
    return [
        *not_null(gxe, "uscc_valid"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="uscc", min_value=2, max_value=18),
        in_reference("province_code", "ref_provinces"),
        *dimension("uscc", "enterprise_key"),
    ]


REGIONS = ("东部", "中部", "西部", "东北")  # NBS regions; empty for 港澳台, 境外 (900000) and missing members


def measures(family: Family, *absent: str) -> list[str]:
    """The contract fields a fact publishes: every non-personal field but those it leaves out."""
    return [f.key for f in family.fields if not f.personal and f.key not in absent]


def unique(rule: str, *columns: str) -> Any:
    keys = ", ".join(columns)
    return no_rows(rule, f"SELECT {keys}, count(*) AS rows FROM batch GROUP BY {keys} HAVING count(*) > 1",
                   f"one row per ({keys})", checks(UNIQUE, *columns))


def dimension(natural_key: str, surrogate_key: str) -> list[Any]:
    """A dimension's missing member: exactly one ('-1'). Its keys' uniqueness is dbt's test."""
    return [
        no_rows(
            "one_missing_member",
            f"SELECT count(*) AS missing_members FROM batch WHERE {surrogate_key} = '-1' HAVING count(*) <> 1",
            f"exactly one missing member ({surrogate_key} '-1') for facts whose {natural_key} is unknown",
        ),
    ]


def in_set(rule: str, values: tuple[str, ...], *columns: str) -> Any:
    """`columns` hold only `values` (or nothing)."""
    allowed = ", ".join(sql_literal(v) for v in values)
    return no_rows(rule, f"SELECT {', '.join(columns)} FROM batch WHERE "
                   + " OR ".join(f"{c} NOT IN ({allowed})" for c in columns),
                   f"{', '.join(columns)} hold only {', '.join(values)}", checks(IN_SET, *columns))


def within(rule: str, low: float, high: float | None, key: str, *columns: str) -> Any:
    """`columns` lie in [low, high] (no upper bound when `high` is None) where they are known."""
    bounds = [f"{c} < {low}" for c in columns] + ([f"{c} > {high}" for c in columns] if high is not None else [])
    return no_rows(rule, f"SELECT {key}, {', '.join(columns)} FROM batch WHERE {' OR '.join(bounds)}",
                   f"{', '.join(columns)} within [{low}, {high if high is not None else '∞'}]", checks(RANGE, *columns))


def only_when(rule: str, key: str, outcome: str, condition: str) -> Any:
    """`outcome` is true only where `condition` holds: a verdict never outruns the criteria it is built from."""
    return no_rows(rule, f"SELECT {key}, {outcome} FROM batch WHERE {outcome} AND NOT coalesce({condition}, false)",
                   f"{outcome} only when {condition}")


def dim_carrier(gxe: Any) -> list[Any]:
    return [*dimension("uscc", "carrier_key"), in_reference("province_code", "ref_provinces")]


def dim_contract_type(gxe: Any) -> list[Any]:
    return [*dimension("contract_type", "contract_type_key"), in_reference("contract_type_code", "ref_contract_types")]


def dim_enterprise_label(gxe: Any) -> list[Any]:
    return [
        unique("one_period_per_enterprise_label_and_start", "enterprise_key", "label", "valid_from"),
        no_rows("valid_from_not_after_valid_to",
                "SELECT uscc, label, valid_from, valid_to FROM batch WHERE valid_from > valid_to",
                "a label's validity period does not end before it starts"),
    ]


def dim_industry(gxe: Any) -> list[Any]:
    return dimension("industry_code", "industry_key")


def dim_period(gxe: Any) -> list[Any]:
    return [
        *dimension("period", "period_key"),
        no_rows("calendar_years",
                "SELECT period, year_start, year_end, licensing_reported_separately FROM batch "
                "WHERE period IS NOT NULL AND (year_start <> make_date(CAST(period AS INTEGER), 1, 1) "
                "OR year_end <> make_date(CAST(period AS INTEGER), 12, 31) "
                "OR licensing_reported_separately <> (period >= 2021))",
                "each period is its calendar year; licences are reported apart from transfers from 2021"),
    ]


def dim_region(gxe: Any) -> list[Any]:
    return dimension("division_code", "region_key")


def dim_tech_field(gxe: Any) -> list[Any]:
    return dimension("tech_field", "tech_field_key")


def dim_tech_market_field(gxe: Any) -> list[Any]:
    return dimension("tech_market_field", "tech_market_field_key")


def dim_zone(gxe: Any) -> list[Any]:
    return [
        *dimension("zone_code", "zone_key"),
        in_set("known_regions", REGIONS, "region"),
        in_reference("province_code", "ref_provinces"),
        no_rows("approved_before_revoked",
                "SELECT zone_code, approved_year, revoked_year FROM batch WHERE approved_year > revoked_year",
                "a zone is revoked no earlier than it was approved"),
    ]


def dim_zone_year(gxe: Any) -> list[Any]:
    return [
        no_rows("national_from_approval_until_revocation",
                "SELECT year, zone_code, approved_year, approved_by_year FROM batch "
                "WHERE year < coalesce(approved_year, approved_by_year) OR (national_certain <> (approved_by_year <= year))",
                "a zone is listed from its approval year on, and certain from approved_by_year on"),
    ]


def fct_carrier_annual(gxe: Any) -> list[Any]:
    return [
        unique("one_report_per_carrier_and_year", "uscc", "period"),
        contract_violations(INCUBATOR, measures(INCUBATOR, "name")),
        in_reference("province_code", "ref_provinces"),
    ]


def fct_tech_contract(gxe: Any) -> list[Any]:
    return [
        contract_violations(CONTRACT, measures(CONTRACT, "seller_name", "buyer_name")),  # tech_amount ≤ amount
        no_rows("licences_reported_as_transfers_before_2021",
                "SELECT filing_id, period, contract_type, contract_type_reported FROM batch "
                "WHERE contract_type_reported = '技术许可' AND period < 2021",
                "before 2021 a 技术许可 is reported as 技术转让"),
    ]


def fct_zone_annual(gxe: Any) -> list[Any]:
    return [
        unique("one_report_per_zone_and_year", "zone_code", "period"),
        contract_violations(ZONE, measures(ZONE)),
        in_reference("province_code", "ref_provinces"),
    ]


HTE_CRITERIA = ("registration_age_pass", "ip_pass", "tech_field_pass", "st_staff_ratio_pass", "rd_ratio_pass",
                "domestic_rd_share_pass", "hightech_revenue_share_pass")


def mart_hte_eligibility(gxe: Any) -> list[Any]:
    return [
        within("shares_between_0_and_1", 0, 1, "uscc, period",
               "st_staff_ratio", "domestic_rd_share", "hightech_revenue_share"),
        within("st_staff_not_above_employees", 0, None, "uscc, period", "employees - st_staff"),
        only_when("eligible_only_when_every_criterion_passes", "uscc, period", "eligible", " AND ".join(HTE_CRITERIA)),
    ]


INCUBATOR_COMMON = ("operating_years_pass", "years_reported_pass", "area_pass", "tenant_area_share_pass",
                    "seed_fund_pass", "financed_share_pass", "fund_cases_pass", "professional_staff_share_pass",
                    "staff_per_tenant_pass", "mentors_per_tenant_pass", "ip_pass")
INCUBATOR_GENERAL = "tenants_pass_general AND density_pass_general AND graduated_pass_general"
INCUBATOR_SPECIALISED = "specialised AND tenants_pass_specialised AND density_pass_specialised AND graduated_pass_specialised"


def mart_incubator_criteria(gxe: Any) -> list[Any]:
    return [
        within("shares_between_0_and_1", 0, 1, "uscc, period", "tenant_area_share", "financed_share",
               "professional_staff_share", "patent_applicant_share", "valid_ip_share"),
        only_when("common_only_when_every_criterion_passes", "uscc, period", "meets_common_criteria",
                  " AND ".join(INCUBATOR_COMMON)),
        only_when("general_only_when_its_criteria_pass", "uscc, period", "meets_general_criteria",
                  f"meets_common_criteria AND {INCUBATOR_GENERAL}"),
        only_when("specialised_only_when_its_criteria_pass", "uscc, period", "meets_specialised_criteria",
                  f"meets_common_criteria AND {INCUBATOR_SPECIALISED}"),
        only_when("national_only_when_general_or_specialised", "uscc, period", "meets_national_criteria",
                  f"meets_common_criteria AND (({INCUBATOR_GENERAL}) OR ({INCUBATOR_SPECIALISED}))"),
    ]


def mart_region_summary(gxe: Any) -> list[Any]:
    return [
        in_set("known_regions", REGIONS, "region"),
        within("counts_and_amounts_not_negative", 0, None, "province_code, period", "enterprises",
               "enterprises - hte_enterprises", "enterprises - sme_enterprises", "revenue", "rd_expense",
               "rd_intensity", "contracts_sold", "contract_amount_sold", "contracts_bought", "contract_amount_bought"),
    ]


def mart_sme_evaluation(gxe: Any) -> list[Any]:
    return [
        within("st_staff_ratio_between_0_and_1", 0, 1, "uscc, period", "st_staff_ratio"),
        within("st_staff_not_above_employees", 0, None, "uscc, period", "employees - st_staff"),
        only_when("qualified_only_when_size_and_score_or_certificate_pass", "uscc, period", "qualified",
                  "eligible_size AND (direct_qualified OR (score_total >= score_min AND score_st_staff > 0))"),
    ]


def mart_tech_market(gxe: Any) -> list[Any]:
    key = "period, contract_type, seller_type, seller_province_code, buyer_province_code, tech_market_field_key"
    return [
        in_set("known_regions", REGIONS, "seller_region", "buyer_region"),
        within("at_least_one_contract", 1, None, key, "contracts"),
        within("tech_amount_within_amount", 0, None, key, "tech_amount", "amount - tech_amount"),
        no_rows("cross_province_when_provinces_differ",
                f"SELECT {key}, is_cross_province, is_cross_border FROM batch "
                "WHERE is_cross_province <> (seller_province_code IS DISTINCT FROM buyer_province_code "
                f"AND '{FOREIGN_REGION}' NOT IN (seller_province_code, buyer_province_code)) "
                f"OR is_cross_border <> ((seller_province_code = '{FOREIGN_REGION}') <> (buyer_province_code = '{FOREIGN_REGION}'))",
                "is_cross_province says whether seller and buyer are in two different provinces of China, "
                "is_cross_border whether one of them is abroad"),
    ]


def mart_zone_evaluation(gxe: Any) -> list[Any]:
    key = "zone_code, period, evaluation_version"
    return [
        no_rows("rank_among_zones_evaluated",
                f"SELECT {key}, rank, zones_evaluated FROM batch WHERE rank < 1 OR rank > zones_evaluated",
                "rank runs from 1 to the number of zones evaluated"),
    ]


def mart_zone_indicator_scores(gxe: Any) -> list[Any]:
    key = "zone_code, period, evaluation_version, indicator_key"
    return [
        within("points_within_points_available", 0, None, key, "points", "points_available - points"),
    ]


# Each carrier's filed quantity and the CO₂ the green account computes from it.
GREEN_ACCOUNT_CO2 = {"coal_t": "co2_coal_t", "oil_t": "co2_oil_t", "gas_10k_m3": "co2_gas_t",
                     "heat_gj": "co2_heat_t", "electricity_10k_kwh": "co2_electricity_t"}
DECOUPLING_STATUSES = ("absolute_decoupling", "relative_decoupling", "no_decoupling", "value_added_not_growing")


def mart_zone_green_account(gxe: Any) -> list[Any]:
    key = "zone_code, period"
    uncovered = " OR ".join(f"({q} IS NOT NULL AND {co2} IS NULL)" for q, co2 in GREEN_ACCOUNT_CO2.items())
    return [
        no_rows("co2_factors_cover_every_carrier_and_year",
                f"SELECT {key}, electricity_grid, {', '.join(GREEN_ACCOUNT_CO2.values())} FROM batch WHERE {uncovered}",
                "every carrier a zone filed has a CO₂ factor for the zone's year (a fuel factor, or a grid factor "
                "of the year or a documented fallback)"),
        no_rows("certainty_of_every_co2_figure",
                f"SELECT {key}, co2_t FROM batch WHERE co2_t > 0 AND factor_certainty IS NULL",
                "every CO₂ total above zero says how certain its factors are (factor_certainty)"),
        no_rows("every_zone_report_has_an_account",
                "SELECT f.zone_code, f.period FROM analytics.fct_zone_annual f "
                "LEFT JOIN batch b ON b.zone_code = f.zone_code AND b.period = f.period WHERE b.zone_code IS NULL",
                "every zone report published has a row in the green account"),
        in_set("known_decoupling_statuses", DECOUPLING_STATUSES, "decoupling_status"),
        within("intensities_not_negative", 0, None, key, "energy_intensity_tce_per_10k_yuan",
               "co2_intensity_t_per_10k_yuan", "water_intensity_t_per_10k_yuan",
               "solid_waste_intensity_t_per_10k_yuan", "renewable_electricity_share"),
    ]


def mart_region_green_account(gxe: Any) -> list[Any]:
    return [
        in_set("known_regions", (*REGIONS, "全国"), "region"),
        within("zones_with_account_within_zones", 0, None, "region, period", "zones_with_account",
               "zones - zones_with_account"),
    ]


def _raw_counts() -> str:
    return " UNION ALL ".join(
        f"SELECT '{family}' AS family, '{channel}' AS channel, count(*) AS raw_rows FROM raw.{family}_{channel}"
        for family in FAMILIES for channel in CHANNELS
    )


# Where each family's records are published: one row per filing_id, at its latest revision.
PUBLISHED_FACTS = {"enterprise": "analytics.fct_enterprise_annual", "incubator": "analytics.fct_carrier_annual",
                   "contract": "analytics.fct_tech_contract", "zone": "analytics.fct_zone_annual",
                   "quarterly": "analytics.fct_quarterly_report"}


# The reporting years the run being gated rebuilt (first, last), when it rebuilt only some (a year backfill: see
# orchestration/partitions.py); None when it rebuilt every year. Set by the gate step from the run's partitions.
REBUILT_YEARS: ContextVar[tuple[int, int] | None] = ContextVar("rebuilt_years", default=None)


def _unaccounted_records() -> str:
    """Landed records that are neither published at their revision nor superseded by a later revision of their
    filing. With the ledger (rows read = landed + quarantined) this accounts for every record delivered.

    After a run that rebuilt some years only, records of the other years are not expected in the facts yet: they
    wait for their own year's run (the nightly chain requests it), and are judged by that run's gate."""
    landed = " UNION ALL ".join(
        f"SELECT '{family}' AS family, _source, _row_number, filing_id, revision, period FROM raw.{family}_{channel}"
        for family in FAMILIES for channel in CHANNELS
    )
    published = " UNION ALL ".join(
        f"SELECT '{family}' AS family, filing_id, revision FROM {fact}" for family, fact in PUBLISHED_FACTS.items()
    )
    years = REBUILT_YEARS.get()
    in_years = f" AND l.period BETWEEN {int(years[0])} AND {int(years[1])}" if years else ""
    return (
        f"WITH landed AS ({landed}), published AS ({published}) "
        "SELECT l.family, l._source, l._row_number, l.filing_id, l.revision, p.revision AS published_revision "
        "FROM landed l LEFT JOIN published p ON p.family = l.family AND p.filing_id = l.filing_id "
        f"WHERE (p.revision IS NULL OR p.revision < l.revision){in_years}"
    )


def known_family_and_channel(gxe: Any, channel_column: str) -> list[Any]:
    return [gxe.ExpectColumnValuesToBeInSet(column="family", value_set=list(FAMILIES)),
            gxe.ExpectColumnValuesToBeInSet(column=channel_column, value_set=list(CHANNELS))]


def ingest_accounting(gxe: Any) -> list[Any]:
    return [
        *known_family_and_channel(gxe, "channel"),
        *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("rows_read", "rows_landed", "rows_quarantined")],
        no_rows(
            "rejections_say_why",
            "SELECT family, source FROM batch WHERE status = 'rejected' AND coalesce(message, '') = ''",
            "every rejected delivery names its problem",
        ),
        no_rows(
            "ledger_agrees_with_raw",
            "WITH ledger AS (SELECT family, channel, sum(rows_landed) AS landed, sum(rows_quarantined) AS quarantined "
            "FROM batch WHERE is_current GROUP BY family, channel), "
            f"landed AS ({_raw_counts()}), "
            "held AS (SELECT family, _channel AS channel, count(*) AS quarantine_rows FROM raw.quarantine "
            "GROUP BY family, _channel) "
            "SELECT r.family, r.channel, coalesce(l.landed, 0) AS ledger_landed, r.raw_rows, "
            "coalesce(l.quarantined, 0) AS ledger_quarantined, coalesce(h.quarantine_rows, 0) AS quarantine_rows "
            "FROM landed r LEFT JOIN ledger l ON l.family = r.family AND l.channel = r.channel "
            "LEFT JOIN held h ON h.family = r.family AND h.channel = r.channel "
            "WHERE coalesce(l.landed, 0) <> r.raw_rows OR coalesce(l.quarantined, 0) <> coalesce(h.quarantine_rows, 0)",
            "the current deliveries in the ledger account for every raw and every quarantined row",
        ),
        no_rows(
            "every_landed_record_published_or_superseded",
            _unaccounted_records(),
            "every landed record is published at its revision or superseded by a later revision of its filing",
        ),
    ]


def quarantine(gxe: Any) -> list[Any]:
    return [
        *not_null(gxe, "family", "rule", "reason", "record", "_channel", "_source", "_loaded_at"),
        *known_family_and_channel(gxe, "_channel"),
        no_rows(
            "quarantined_records_readable",
            "SELECT family, _source, _row_number FROM batch WHERE NOT json_valid(record)",
            "every quarantined record is kept as JSON with the contract's keys",
        ),
    ]


SUITES: tuple[Suite, ...] = (
    model_suite("analytics.fct_enterprise_annual", fct_enterprise_annual),
    model_suite("analytics.fct_enterprise_annual", fct_enterprise_annual_warnings, warnings=True),
    model_suite("analytics.dim_enterprise", dim_enterprise),
    model_suite("analytics.dim_carrier", dim_carrier),
    model_suite("analytics.dim_contract_type", dim_contract_type),
    model_suite("analytics.dim_enterprise_label", dim_enterprise_label),
    model_suite("analytics.dim_industry", dim_industry),
    model_suite("analytics.dim_period", dim_period),
    model_suite("analytics.dim_region", dim_region),
    model_suite("analytics.dim_tech_field", dim_tech_field),
    model_suite("analytics.dim_tech_market_field", dim_tech_market_field),
    model_suite("analytics.dim_zone", dim_zone),
    model_suite("analytics.dim_zone_year", dim_zone_year),
    model_suite("analytics.fct_carrier_annual", fct_carrier_annual),
    model_suite("analytics.fct_tech_contract", fct_tech_contract),
    model_suite("analytics.fct_zone_annual", fct_zone_annual),
    model_suite("analytics.mart_hte_eligibility", mart_hte_eligibility),
    model_suite("analytics.mart_incubator_criteria", mart_incubator_criteria),
    model_suite("analytics.mart_region_summary", mart_region_summary),
    model_suite("analytics.mart_sme_evaluation", mart_sme_evaluation),
    model_suite("analytics.mart_tech_market", mart_tech_market),
    model_suite("analytics.mart_zone_evaluation", mart_zone_evaluation),
    model_suite("analytics.mart_zone_indicator_scores", mart_zone_indicator_scores),
    model_suite("analytics.fct_quarterly_report", quarterly.fct_quarterly_report),
    model_suite("analytics.fct_quarterly_report", quarterly.fct_quarterly_report_warnings, warnings=True),
    model_suite("analytics.mart_quarterly_zone_economy", quarterly.mart_quarterly_zone_economy),
    model_suite("analytics.mart_quarterly_zone_economy", quarterly.mart_quarterly_zone_economy_warnings, warnings=True),
    model_suite("analytics.mart_quarterly_region_economy", quarterly.mart_quarterly_region_economy),
    model_suite("analytics.mart_zone_green_account", mart_zone_green_account),
    model_suite("analytics.mart_region_green_account", mart_region_green_account),
    model_suite("ops.ingest_accounting", ingest_accounting),
    # The quarantine is published only as counts in ops.ingest_accounting; its gate reports on that model.
    Suite("quarantine", "raw.quarantine", quarantine, (("ops", "ingest_accounting"),),
          description="Quarantined records: family, rule, reason and the record as delivered, with lineage."),
)
