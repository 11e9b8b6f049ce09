"""Gates on the published models: what a reader of the numbers relies on beyond dbt's own tests, which already hold
each model's keys (unique, not null) and relationships inside `dbt build` and are blocking checks too.

A suite for a new published model is a function of `gxe` returning its expectations, plus one `model_suite` line
in SUITES. `tests/expectations/test_suites.py` fails while a published model has no suite, and while a suite has no
fixture built to break it.
"""

from __future__ import annotations

from typing import Any

from expectations.national import Bound, not_above, short_of
from expectations.raw import CHANNELS
from expectations.rules import contract_violations, in_reference, no_rows, not_null
from expectations.suite import Suite, model_suite
from ingestion.contracts import ENTERPRISE, FAMILIES

# High-tech enterprises: filings of the period that report a certificate number.
HTE_COUNT = Bound("hte_count", "sum(CASE WHEN hte_cert_no IS NOT NULL THEN 1 ELSE 0 END)")
ENTERPRISE_MEASURES = [f.key for f in ENTERPRISE.fields if not f.personal]


def fct_enterprise_annual(gxe: Any) -> list[Any]:
    return [
        no_rows(
            "one_report_per_enterprise_and_year",
            "SELECT uscc, period, count(*) AS reports FROM batch GROUP BY uscc, period HAVING count(*) > 1",
            "one annual report per enterprise (USCC) and year",
        ),
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
        no_rows(
            "one_missing_member",
            "SELECT count(*) AS missing_members FROM batch WHERE uscc = '-1' HAVING count(*) <> 1",
            "exactly one missing member (uscc '-1') for facts whose enterprise is unknown",
        ),
    ]


def _raw_counts() -> str:
    return " UNION ALL ".join(
        f"SELECT '{family}' AS family, '{channel}' AS channel, count(*) AS raw_rows FROM raw.{family}_{channel}"
        for family in FAMILIES for channel in CHANNELS
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
    model_suite("ops.ingest_accounting", ingest_accounting),
    # The quarantine is published only as counts in ops.ingest_accounting; its gate reports on that model.
    Suite("quarantine", "raw.quarantine", quarantine, (("ops", "ingest_accounting"),),
          description="Quarantined records: family, rule, reason and the record as delivered, with lineage."),
)
