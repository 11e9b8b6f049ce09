"""The Great Expectations suites that gate publication, one per published model.

Each suite is a function of the `great_expectations.expectations` module (passed in, so that declaring suites costs
no GX import). dbt's own tests already hold keys and relationships inside `dbt build`; these suites hold what a
reader of the numbers relies on: one report per enterprise and year, internal consistency, accepted codes, ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingestion.contracts import ENTERPRISE
from ingestion.reference import tech_fields

EARLIEST_PERIOD = ENTERPRISE.field("period").minimum
LATEST_PERIOD = ENTERPRISE.field("period").maximum


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # schema.name in the build database
    build: Callable[[Any], Sequence[Any]]


def _not_greater(gxe: Any, family_rules, table_columns: set[str]) -> list[Any]:
    """Each contract rule `left <= right` as a pair expectation (GX compares A >= B)."""
    return [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.right, column_B=rule.left, or_equal=True, ignore_row_if="either_value_is_missing"
        )
        for rule in family_rules
        if {rule.left, rule.right} <= table_columns
    ]


def fct_enterprise_annual(gxe: Any) -> list[Any]:
    columns = {f.key for f in ENTERPRISE.fields if not f.personal}
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=0),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["uscc", "period"]),
        *[gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("filing_id", "uscc", "period", "enterprise_key")],
        gxe.ExpectColumnValuesToBeBetween(column="period", min_value=EARLIEST_PERIOD, max_value=LATEST_PERIOD),
        *[
            gxe.ExpectColumnValuesToBeBetween(column=f.key, min_value=f.minimum)
            for f in ENTERPRISE.fields
            if f.minimum is not None and f.key in columns and f.key not in ("revision", "period")
        ],
        *_not_greater(gxe, ENTERPRISE.not_greater, columns),
        gxe.ExpectColumnValuesToBeInSet(column="tech_field", value_set=list(tech_fields())),
    ]


def dim_enterprise(gxe: Any) -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="uscc"),
        gxe.ExpectColumnValuesToBeUnique(column="enterprise_key"),
        gxe.ExpectColumnValuesToNotBeNull(column="uscc_valid"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="uscc", min_value=2, max_value=18),
    ]


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite("fct_enterprise_annual", "analytics.fct_enterprise_annual", fct_enterprise_annual),
        Suite("dim_enterprise", "analytics.dim_enterprise", dim_enterprise),
    )
}
