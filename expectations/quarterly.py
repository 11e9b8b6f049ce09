"""Gates on the quarterly flash reports (季度快报) and their marts.

- Blocking: one report per reporter and quarter, the contract's ranges, known zones, counts and regions of the marts.
- Warnings (never block): a cumulative year-to-date measure that fell from one quarter to a later one
  (`ytd_not_decreasing`; the report is published flagged, fct_quarterly_report.ytd_decreased), a fourth quarter
  that disagrees with the same reporter's annual report beyond ANNUAL_TOLERANCE (`q4_reconciles_with_annual`:
  a flash report is not the annual report, so this warns), and zones whose panel is empty or below
  MIN_PANEL_COVERAGE of the enterprises in their annual report (`panel_coverage`).
"""

from __future__ import annotations

from typing import Any

from expectations.rules import RANGE, checks, contract_violations, in_reference, no_rows
from ingestion.contracts import CUMULATIVE_NONNEGATIVE, QUARTERLY

# A fourth quarter's year-to-date figure may differ from the annual report of the same reporter and year by this
# share of the annual figure (of its absolute value for net profit) before it warns. This project's choice: the
# 快报 is to use the annual report's scope and keep close to it (domain-additions §3), but no tolerance is published.
ANNUAL_TOLERANCE = 0.05
# A zone whose panel reports fewer than this share of the enterprises in its annual report is listed. This
# project's choice, not an official sample rule.
MIN_PANEL_COVERAGE = 0.05
QUARTERLY_MEASURES = tuple(f.key for f in QUARTERLY.fields if f.key.endswith("_ytd"))
REGIONS = ("东部", "中部", "西部", "东北", "未知")  # 未知: a zone without a region in dim_zone


def _annual(measure: str) -> str:
    return measure.removesuffix("_ytd")


def _reconciliation(reporter_type: str, annual: str, key: str) -> str:
    differs = " OR ".join(
        f"abs(q.{m} - a.{_annual(m)}) > {ANNUAL_TOLERANCE} * abs(a.{_annual(m)})" for m in QUARTERLY_MEASURES)
    shown = ", ".join(f"q.{m}, a.{_annual(m)} AS annual_{_annual(m)}" for m in QUARTERLY_MEASURES)
    return (f"SELECT q.filing_id, q.reporter_type, q.reporter_id, q.period, {shown} FROM batch q "
            f"JOIN (SELECT * FROM {annual} QUALIFY row_number() OVER (PARTITION BY {key}, period "
            "ORDER BY submitted_at DESC, filing_id DESC) = 1) a "
            f"ON a.{key} = q.reporter_id AND a.period = q.period "
            f"WHERE q.quarter = 4 AND q.reporter_type = '{reporter_type}' AND ({differs})")


def fct_quarterly_report(gxe: Any) -> list[Any]:
    return [
        no_rows("one_report_per_reporter_and_quarter",
                "SELECT reporter_type, reporter_id, period, quarter, count(*) AS rows FROM batch "
                "GROUP BY reporter_type, reporter_id, period, quarter HAVING count(*) > 1",
                "one report per reporter, year and quarter (two filing ids for one quarter block publication)"),
        contract_violations(QUARTERLY, [f.key for f in QUARTERLY.fields]),
        in_reference("zone_code", "ref_zones"),
        no_rows("zone_reports_carry_no_uscc",
                "SELECT filing_id, reporter_type, uscc FROM batch "
                "WHERE (reporter_type = 'zone') <> (uscc IS NULL) OR reporter_id <> coalesce(uscc, zone_code)",
                "an enterprise's report carries its USCC as reporter, a zone's own report none"),
    ]


def fct_quarterly_report_warnings(gxe: Any) -> list[Any]:
    return [
        no_rows("ytd_not_decreasing",
                "SELECT filing_id, reporter_id, period, quarter, ytd_decreased_measures FROM batch WHERE ytd_decreased",
                "a reporter's year-to-date " + ", ".join(CUMULATIVE_NONNEGATIVE) + " never fall below its previous "
                "quarter of the year (flagged ytd_decreased, published)"),
        no_rows("q4_reconciles_with_annual",
                _reconciliation("enterprise", "analytics.fct_enterprise_annual", "uscc") + " UNION ALL "
                + _reconciliation("zone", "analytics.fct_zone_annual", "zone_code"),
                f"a fourth quarter's year-to-date figures are within {ANNUAL_TOLERANCE:.0%} of the same reporter's "
                "annual report (enterprise or zone, same year)"),
    ]


def mart_quarterly_zone_economy(gxe: Any) -> list[Any]:
    key = "zone_code, period, quarter"
    return [
        no_rows("reporter_counts_consistent",
                f"SELECT {key}, reporters, reporters_single_quarter, reporters_comparable FROM batch "
                "WHERE reporters < 0 OR reporters_single_quarter > reporters OR reporters_comparable > reporters",
                "reporters with a single quarter, and comparable reporters, are among the reporters",
                checks(RANGE, "reporters")),
        no_rows("first_quarter_is_its_year_to_date",
                f"SELECT {key}, revenue_ytd, revenue_q FROM batch WHERE quarter = 1 AND revenue_q <> revenue_ytd",
                "a first quarter's single-quarter value is its year-to-date value"),
    ]


def mart_quarterly_zone_economy_warnings(gxe: Any) -> list[Any]:
    return [
        no_rows("panel_coverage",
                "SELECT zone_code, period, quarter, reporters, annual_enterprises, panel_coverage FROM batch "
                f"WHERE reporters = 0 OR panel_coverage < {MIN_PANEL_COVERAGE}",
                f"every zone has monitoring points reporting, at least {MIN_PANEL_COVERAGE:.0%} of the enterprises "
                "of its annual report"),
    ]


def mart_quarterly_region_economy(gxe: Any) -> list[Any]:
    return [
        no_rows("known_regions",
                "SELECT region, period, quarter FROM batch WHERE region NOT IN ("
                + ", ".join(f"'{r}'" for r in (*REGIONS, "全国")) + ")",
                "region is an NBS region, 未知 or 全国"),
        no_rows("nation_is_the_sum_of_regions",
                "WITH regions AS (SELECT period, quarter, sum(reporters) AS reporters, sum(revenue_ytd) AS revenue_ytd "
                "FROM batch WHERE region <> '全国' GROUP BY period, quarter) "
                "SELECT n.period, n.quarter, n.reporters, r.reporters AS region_reporters FROM batch n "
                "JOIN regions r ON r.period = n.period AND r.quarter = n.quarter "
                "WHERE n.region = '全国' AND (n.reporters <> r.reporters OR n.revenue_ytd <> r.revenue_ytd)",
                "全国 holds the reporters and year-to-date totals of the regions together"),
    ]
