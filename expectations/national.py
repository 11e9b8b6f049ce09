"""Published national figures as sanity bounds (`dbt_project/seeds/reference/ref_national_figures.csv`).

A national total bounds every part of it: no province, sample or country-wide delivery can exceed what was published
for the whole country. The upper bound therefore applies at every scale, and exceeding it blocks: it means
duplicated filings or amounts in the wrong unit. Falling short of a figure means filings are missing, which only
warns, and only for national-scale data: a period whose measure reaches at least NATIONAL_SCALE_SHARE of the figure.
A sample or a province never reaches it, so it is never warned about.

Only figures `domain-rules.md` states with a source are used, [V], [V-3p] and [D]; an [U] figure bounds nothing.
The tolerance grows with the uncertainty of the figure: reposts round ("55万"), and filings are not the official
statistics (coverage, timing, later corrections).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from expectations.rules import no_rows, values_table
from ingestion.reference import rows

TOLERANCE = {"V": 0.10, "V-3p": 0.20, "D": 0.20}
NATIONAL_SCALE_SHARE = 0.5


@dataclass(frozen=True)
class Figure:
    metric: str
    year: int
    value: float
    unit: str
    certainty: str


@dataclass(frozen=True)
class Bound:
    """A published national figure and how the batch measures the same thing in each period."""

    metric: str  # ref_national_figures.metric
    measure: str  # an aggregate over the batch's rows of one period, in the figure's unit
    exact: bool = False  # a count of named things (zones): no tolerance above the figure


def figures(metric: str) -> list[Figure]:
    return [
        Figure(r["metric"], int(r["year"]), float(r["value"]), r["unit"], r["certainty"])
        for r in rows("ref_national_figures")
        if r["metric"] == metric and r["value"] and r["certainty"] in TOLERANCE
    ]


def _compared(bounds: Sequence[Bound], relation: str, *, above: bool, latest: Callable[[str], str] | None) -> str:
    """Each bound's measure per period beside its published figure, all measured in one pass.

    With `latest`, the batch holds every revision of a filing and `latest(relation)` keeps the last one. Taking
    it costs a window over every filing, so it is taken only for the periods whose measure over all revisions
    could break the bound: measures are counts and sums of non-negative amounts, which revisions only add to.
    """
    records = []
    for bound in bounds:
        known = figures(bound.metric)
        if not known:
            raise ValueError(f"ref_national_figures.csv has no sourced figure for {bound.metric}: nothing to bound")
        records += [(f.metric, f.year, f.value, f.certainty, 0.0 if above and bound.exact else TOLERANCE[f.certainty])
                    for f in known]
    published = values_table("published", ("metric", "year", "figure", "certainty", "tolerance"), records)
    measures = ", ".join(f"{b.measure} AS m{i}" for i, b in enumerate(bounds))

    def observed(measured: str) -> str:
        return " UNION ALL ".join(
            f"SELECT period, '{b.metric}' AS metric, m{i} AS observed FROM {measured}" for i, b in enumerate(bounds))

    breaks = "observed > figure * (1 + tolerance)" if above else f"observed >= figure * {NATIONAL_SCALE_SHARE}"
    if latest is None:
        head = f"measured AS (SELECT period, {measures} FROM {relation} GROUP BY period), "
    else:
        head = (
            f"rough AS (SELECT period, {measures} FROM {relation} GROUP BY period), "
            f"suspect AS (SELECT DISTINCT o.period FROM ({observed('rough')}) o "
            f"JOIN published ON o.metric = published.metric AND o.period = published.year WHERE {breaks}), "
            f"measured AS (SELECT period, {measures} FROM "
            f"{latest(f'(SELECT * FROM {relation} WHERE period IN (SELECT period FROM suspect)) suspect_rows')} "
            "GROUP BY period), "
        )
    return (
        f"WITH {published}, {head}"
        f"observed AS ({observed('measured')}), "
        "compared AS (SELECT o.metric, o.period, o.observed, p.figure, p.certainty, p.tolerance "
        "FROM observed o JOIN published p ON o.metric = p.metric AND o.period = p.year) "
    )


def not_above(bounds: Sequence[Bound], relation: str, latest: Callable[[str], str] | None = None) -> Any:
    """Blocking: in no period does the batch exceed a national figure (plus its tolerance)."""
    return no_rows(
        "within_national_figures",
        _compared(bounds, relation, above=True, latest=latest)
        + "SELECT metric, period, observed, figure, certainty, figure * (1 + tolerance) AS upper_bound "
        "FROM compared WHERE observed > figure * (1 + tolerance)",
        f"{', '.join(b.metric for b in bounds)} per period stay within the published national figures "
        "(ref_national_figures; [U] figures unused)",
    )


def short_of(bounds: Sequence[Bound], relation: str, latest: Callable[[str], str] | None = None) -> Any:
    """Warning: national-scale data falling short of a national figure (by more than its tolerance)."""
    return no_rows(
        "reaches_national_figures",
        _compared(bounds, relation, above=False, latest=latest)
        + "SELECT metric, period, observed, figure, certainty, figure * (1 - tolerance) AS lower_bound "
        f"FROM compared WHERE observed >= figure * {NATIONAL_SCALE_SHARE} AND observed < figure * (1 - tolerance)",
        f"national-scale data reach the published {', '.join(b.metric for b in bounds)} (filings may be missing)",
    )
