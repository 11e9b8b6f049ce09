"""Building blocks of the suites: expectations derived from the filing contract and the reference data, and rules
written in SQL that Great Expectations evaluates inside the engine.

Every builder takes the `great_expectations.expectations` module (`gxe`) or imports Great Expectations lazily, so
suites can be declared at code-location load without importing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ingestion.contracts import Family, latest_revision_order_by
from ingestion.reference import rows
from ingestion.sql import literal


def not_null(gxe: Any, *columns: str) -> list[Any]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def contract_violations(family: Family, columns: Iterable[str]) -> Any:
    """Every range, `≤` and sum rule of the filing contract in one scan, named as the landing's quarantine names them
    (`range:revenue`, `rule:st_staff_le_employees`): each row returned lists the rules it breaks.

    One SQL rule rather than one GX expectation per field: over a national year of raw Parquet, GX's per-expectation
    metrics cost more than the scan itself.
    """
    present = set(columns)
    conditions = []
    for f in family.fields:
        if f.key not in present:
            continue
        if f.minimum is not None:
            conditions.append((f"range:{f.key}", f"{f.key} < {f.minimum!r}"))
        if f.maximum is not None:
            conditions.append((f"range:{f.key}", f"{f.key} > {f.maximum!r}"))
    conditions += [(f"rule:{r.name}", f"{r.left} > {r.right}") for r in family.not_greater
                   if {r.left, r.right} <= present]
    conditions += [(f"rule:{r.name}", r.broken()) for r in family.sums if {r.total, *r.parts} <= present]
    named = ", ".join(f"CASE WHEN {condition} THEN '{name}' END" for name, condition in conditions)
    key = "filing_id" if "filing_id" in present else family.subject_key
    ranged = dict.fromkeys(name.removeprefix("range:") for name, _ in conditions if name.startswith("range:"))
    return no_rows(
        "contract_ranges_and_rules",
        f"SELECT {key}, list_filter([{named}], r -> r IS NOT NULL) AS broken FROM batch "
        f"WHERE {' OR '.join(condition for _, condition in conditions)}",
        f"every {family.name} record keeps the filing contract's ranges and ≤ rules (ingestion/contracts.py)",
        checks(RANGE, *ranged),
    )


def in_reference(column: str, seed: str, key: str | None = None) -> Any:
    """`column` holds only codes of the reference seed `seed` (its column `key`, by default the same name).

    Written as an anti-join rather than GX's value-set expectation: GX binds each code as a query parameter, and
    DuckDB evaluates a long parameter list row by row, some forty times slower at national scale.
    """
    codes = sorted({r[key or column] for r in rows(seed)})
    reference = values_table("reference", ("code",), [(c,) for c in codes])
    return no_rows(
        f"{column}_in_{seed}",
        f"WITH {reference} SELECT b.{column} FROM batch b "
        f"WHERE b.{column} IS NOT NULL AND b.{column} NOT IN (SELECT code FROM reference)",
        f"{column} holds only codes listed in the reference seed {seed}",
        checks(IN_SET, column),
    )


def with_batch(query: str) -> str:
    """Make the batch available to `query` as the CTE `batch`.

    GX substitutes `{batch}` with a table name, or with a derived table whose alias depends on whether the query
    has a join; a CTE reads the same in every case. It is NOT MATERIALIZED: DuckDB would otherwise copy every column
    of a batch a rule reads twice (a national year of raw enterprise reports for the revision check), where reading
    the few columns each reference needs from the Parquet twice is cheaper.
    """
    head = "WITH batch AS NOT MATERIALIZED (SELECT * FROM {batch})"
    stripped = query.lstrip()
    if stripped[:4].lower() == "with":
        return f"{head}, {stripped[4:].lstrip()}"
    return f"{head} {stripped}"


# Kinds of invariant a rule can declare it checks, as dbt's generic tests name them (accepted codes, whether listed
# or in a seed, are one kind): tests/expectations/test_ownership.py compares them with the dbt tests, so that no
# invariant is checked by both tools.
UNIQUE, NOT_NULL, IN_SET, RANGE = "unique", "not_null", "in_set", "range"


def checks(kind: str, *columns: str) -> list[dict[str, Any]]:
    """One column each (`unique`: the columns together)."""
    if kind == UNIQUE:
        return [{"kind": kind, "columns": list(columns)}]
    return [{"kind": kind, "columns": [c]} for c in columns]


def no_rows(rule: str, query: str, description: str, invariants: Sequence[dict[str, Any]] = ()) -> Any:
    """A rule as SQL: `query` selects the rows that break it (from the CTE `batch`, or any relation).

    `invariants` (from `checks`) say which column invariants the rule holds, for the ownership test; a rule across
    rows or relations has none."""
    from expectations.sql_rule import ExpectNoRowsBreakingRule  # imports Great Expectations

    meta: dict[str, Any] = {"rule": rule, **({"invariants": list(invariants)} if invariants else {})}
    return ExpectNoRowsBreakingRule(unexpected_rows_query=with_batch(query), description=description, meta=meta)


def sql_literal(value: Any) -> str:
    """A reference-data cell as a literal: an empty CSV cell is NULL."""
    return literal(None if value == "" else value)


def values_table(name: str, columns: Sequence[str], records: Iterable[Sequence[Any]]) -> str:
    """`name(columns) AS (VALUES ...)`: a small constant table for a CTE; at least one record is required."""
    body = ", ".join("(" + ", ".join(sql_literal(v) for v in record) + ")" for record in records)
    return f"{name}({', '.join(columns)}) AS (VALUES {body})"


def valid_in_period(column: str, seed: str, key: str, first_year: str, last_year: str) -> Any:
    """Codes of `seed` that exist only from `first_year` or until `last_year` are used only in those periods."""
    dated = [(r[key], r[first_year], r[last_year]) for r in rows(seed) if r[first_year] or r[last_year]]
    if not dated:
        raise ValueError(f"{seed} dates none of its codes by {first_year}/{last_year}: nothing to check")
    validity = values_table("validity", ("code", "first_year", "last_year"), dated)
    return no_rows(
        f"{column}_valid_in_period",
        f"WITH {validity} "
        f"SELECT b.{column}, b.period, CAST(v.first_year AS INTEGER) AS first_year, "
        f"CAST(v.last_year AS INTEGER) AS last_year, count(*) AS filings "
        f"FROM batch b JOIN validity v ON b.{column} = v.code "
        f"WHERE b.period < coalesce(CAST(v.first_year AS INTEGER), b.period) "
        f"OR b.period > coalesce(CAST(v.last_year AS INTEGER), b.period) "
        f"GROUP BY b.{column}, b.period, v.first_year, v.last_year",
        f"{column} uses only codes that exist in the filing's period ({seed}.{first_year}/{last_year})",
    )


def latest_revisions(relation: str) -> str:
    """A SELECT of `relation`'s filings at their latest revision, one row per filing_id (as the dbt models keep).
    `relation` carries landing column names, lineage included."""
    return (
        f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY filing_id ORDER BY {latest_revision_order_by()}) "
        f"AS revision_rank FROM {relation}) ranked WHERE revision_rank = 1"
    )
