"""Gates on the raw layer: each family's filings from both channels, judged as one batch before anything is built.

Blocking, because the data are wrong (the landing should have kept them out, or a province sent the impossible):
- required fields and lineage present, channels known;
- one content per filing_id and revision across both channels: an identical revision delivered twice is a
  re-delivery, landed again and counted once downstream; two different contents under one revision are ambiguous;
- every range and `≤` rule of the filing contract, USCC lengths;
- accepted codes (the reference seeds), and dated codes only in the periods they exist;
- no national total exceeded (expectations/national.py);
- a zone reports at least the enterprises that filed as located in it, and their employees (ZONE_TOLERANCE).

Warnings, because data are missing, which never blocks publication:
- a family with no deliveries yet;
- drift between periods: a province's filings halved or grown by half since the previous period;
- national-scale data short of a national figure;
- a zone reporting well above the enterprises filed in it (enterprise deliveries missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from expectations.national import Bound, not_above, short_of
from expectations.rules import (
    contract_violations,
    in_reference,
    latest_revisions,
    no_rows,
    not_null,
    valid_in_period,
)
from expectations.suite import Build, Suite
from ingestion.contracts import FAMILIES, LATEST_REVISION_ORDER, Family
from ingestion.landing import landed_rows

CHANNELS = ("files", "api")
LINEAGE_REQUIRED = ("_channel", "_source", "_source_sha256", "_loaded_at")

# The column that places a filing in a province (its first two digits), for drift per province. Quarterly reports
# carry no province: their drift is not checked.
PROVINCE_COLUMN = {"enterprise": "region_code", "incubator": "region_code", "contract": "registry_region_code",
                   "zone": "province_code"}

# Coded columns and the reference seed (and its column) that lists their codes.
CODES: dict[str, dict[str, tuple[str, str]]] = {
    "enterprise": {"tech_field": ("ref_tech_fields", "tech_field"), "industry_code": ("ref_industries", "industry_code"),
                   "zone_code": ("ref_zones", "zone_code")},
    "incubator": {"carrier_type": ("ref_carrier_types", "carrier_type"), "level": ("ref_carrier_levels", "level"),
                  "zone_code": ("ref_zones", "zone_code")},
    "contract": {"contract_type": ("ref_contract_types", "contract_type"), "seller_type": ("ref_party_types", "party_type"),
                 "buyer_type": ("ref_party_types", "party_type"),
                 "tech_field": ("ref_tech_market_fields", "tech_market_field"),
                 "ip_type": ("ref_ip_types", "ip_type")},
    "zone": {"zone_code": ("ref_zones", "zone_code"), "province_code": ("ref_provinces", "province_code")},
    "quarterly": {"zone_code": ("ref_zones", "zone_code")},
}
# Codes that exist only from or until a year: (column, seed, its code column, first year column, last year column).
DATED_CODES = {
    "contract": (("contract_type", "ref_contract_types", "contract_type", "valid_from_year", "valid_to_year"),),
    "zone": (("zone_code", "ref_zones", "zone_code", "approved_year", "revoked_year"),),
    "quarterly": (("zone_code", "ref_zones", "zone_code", "approved_year", "revoked_year"),),
}

# National figures each family's filings add up to (per period, over the latest revision of each filing). Measures
# must be counts or sums of non-negative amounts (see national._compared).
NATIONAL: dict[str, tuple[Bound, ...]] = {
    "contract": (Bound("tech_contract_count", "count(*)"),
                 Bound("tech_contract_value", "sum(amount) / 10000"),  # 成交额: 万元 in filings, 亿元 published
                 ),
    "zone": (Bound("zone_count", "count(DISTINCT zone_code)", exact=True),),
    "incubator": (
        Bound("national_incubator_count",
              "count(DISTINCT CASE WHEN level = '国家级' AND carrier_type = '孵化器' THEN uscc END)"),
        Bound("national_maker_space_count",
              "count(DISTINCT CASE WHEN level = '国家级' AND carrier_type = '众创空间' THEN uscc END)"),
        Bound("maker_space_count", "count(DISTINCT CASE WHEN carrier_type = '众创空间' THEN uscc END)"),
    ),
}

# A zone's report may fall below the sum of the enterprises filed in it by this share (enterprise reports corrected
# after the zone compiled its own) before it blocks; the other way round, a zone may exceed them by ZONE_SHORTFALL
# (enterprises that did not file, or whose delivery was rejected) before it warns.
ZONE_TOLERANCE = 0.01
ZONE_SHORTFALL = 0.10
# Drift: a province's filings in a period against the previous period; ignored below DRIFT_MIN_FILINGS in both.
DRIFT_RATIO = 0.5
DRIFT_MIN_FILINGS = 20


def family_batch(family: str) -> str:
    return " UNION ALL ".join(f"SELECT * FROM raw.{family}_{channel}" for channel in CHANNELS)


def deliveries_batch(family: str, files: Sequence[Path]) -> str:
    """The rows of these landed files of the family (both channels), as its raw views give them: the rows a gate
    scoped to some deliveries judges one by one. Read from the files themselves: a query over the views opens every
    landed file of the family, which costs more than judging a few new ones."""
    return " UNION ALL ".join(
        landed_rows([f for f in files if Path(f).name.startswith(f"{channel}__")], FAMILIES[family])
        for channel in CHANNELS)


def _latest(relation: str = "batch") -> str:
    return f"({latest_revisions(relation)}) latest"


def conflicting_revisions(family: Family, every: str | None = None) -> Any:
    """With `every` (a SELECT of every delivery's rows) the batch holds some deliveries only: the filings they
    deliver are compared across every delivery (an earlier pair that passed passes again)."""
    content = ", ".join(k for k in family.keys if k not in ("filing_id", "revision"))
    rows, of_batch = ("batch", "") if every is None else (
        f"({every})", " WHERE filing_id IN (SELECT filing_id FROM batch)")
    # Only revisions delivered more than once are hashed: they are rare, and hashing every row is what costs.
    return no_rows(
        "one_content_per_revision",
        f"WITH candidates AS NOT MATERIALIZED (SELECT * FROM {rows} AS every_row{of_batch}), "
        "repeated AS (SELECT filing_id, revision FROM candidates GROUP BY filing_id, revision HAVING count(*) > 1) "
        "SELECT b.filing_id, b.revision, count(*) AS deliveries, count(DISTINCT hash(" + content + ")) AS contents, "
        "min(b._source) AS first_source, max(b._source) AS last_source "
        "FROM candidates b JOIN repeated r ON b.filing_id = r.filing_id AND b.revision = r.revision "
        "GROUP BY b.filing_id, b.revision HAVING count(DISTINCT hash(" + content + ")) > 1",
        f"a {family.name} filing revision delivered more than once (through either channel) has one content",
    )


def _zone_against_enterprises(zones: str = "batch") -> str:
    """Each zone's report (the latest revision of each in `zones`) beside the enterprises filed as located in it.
    Both sides change with either family's deliveries, so a gate scoped to some deliveries passes every zone
    report here (`zones` a relation of them all)."""
    # Enterprises outside any zone are set aside before the latest revision is taken: most are, and a filing
    # moves between zones only by correction, which leaves its counts as they were.
    located = (f"(SELECT {', '.join(LATEST_REVISION_ORDER)}, filing_id, zone_code, period, uscc, employees FROM ("
               + family_batch("enterprise") + ") e WHERE zone_code IS NOT NULL) located")
    return (
        f"WITH zones AS (SELECT * FROM {_latest(zones)}), "
        f"firms AS (SELECT * FROM {_latest(located)}), "
        "filed AS (SELECT zone_code, period, count(DISTINCT uscc) AS enterprises, "
        "coalesce(sum(employees), 0) AS employees FROM firms GROUP BY zone_code, period) "
        "SELECT z.zone_code, z.period, z.enterprises AS reported_enterprises, "
        "coalesce(f.enterprises, 0) AS filed_enterprises, z.employees AS reported_employees, "
        "coalesce(f.employees, 0) AS filed_employees "
        "FROM zones z LEFT JOIN filed f ON f.zone_code = z.zone_code AND f.period = z.period "
        "WHERE z.period IN (SELECT DISTINCT period FROM firms)"
    )


def zone_covers_its_enterprises(zones: str = "batch") -> Any:
    return no_rows(
        "zone_report_covers_its_enterprises",
        _zone_against_enterprises(zones)
        + f" AND (coalesce(f.enterprises, 0) > z.enterprises * {1 + ZONE_TOLERANCE} "
        f"OR coalesce(f.employees, 0) > z.employees * {1 + ZONE_TOLERANCE})",
        "a zone reports at least the enterprises filed as located in it, and their employees "
        f"(tolerance {ZONE_TOLERANCE:.0%}; same period, latest revisions)",
    )


def zone_enterprises_missing() -> Any:
    return no_rows(
        "zone_enterprises_delivered",
        _zone_against_enterprises()
        + f" AND coalesce(f.enterprises, 0) < z.enterprises * {1 - ZONE_SHORTFALL}",
        f"the enterprises filed in a zone reach its report within {ZONE_SHORTFALL:.0%} (enterprise deliveries missing)",
    )


def no_deliveries(family: str) -> Any:
    return no_rows(
        "has_deliveries",
        "SELECT 'no filings from either channel' AS problem WHERE NOT EXISTS (SELECT 1 FROM batch)",
        f"{family} filings have been delivered (a family with none yet is reported, not blocked)",
    )


def drift(family: str) -> Any:
    province = PROVINCE_COLUMN[family]
    return no_rows(
        "no_drift_between_periods",
        f"WITH filings AS (SELECT DISTINCT filing_id, period, substr({province}, 1, 2) AS province FROM batch "
        f"WHERE {province} IS NOT NULL), "
        "counts AS (SELECT province, period, count(*) AS filings FROM filings GROUP BY province, period), "
        "periods AS (SELECT period, lag(period) OVER (ORDER BY period) AS previous "
        "FROM (SELECT DISTINCT period FROM counts) p), "
        "provinces AS (SELECT DISTINCT province FROM counts), "
        "pairs AS (SELECT pr.province, pe.previous, pe.period, coalesce(b.filings, 0) AS previous_filings, "
        "coalesce(c.filings, 0) AS filings FROM provinces pr CROSS JOIN periods pe "
        "LEFT JOIN counts b ON b.province = pr.province AND b.period = pe.previous "
        "LEFT JOIN counts c ON c.province = pr.province AND c.period = pe.period WHERE pe.previous IS NOT NULL) "
        "SELECT province || '0000' AS province_code, previous AS previous_period, period, previous_filings, filings "
        f"FROM pairs WHERE greatest(previous_filings, filings) >= {DRIFT_MIN_FILINGS} "
        f"AND (filings < previous_filings * {1 - DRIFT_RATIO} OR filings > previous_filings * {1 + DRIFT_RATIO})",
        f"each province's {family} filings stay within ±{DRIFT_RATIO:.0%} of the previous period "
        f"(provinces with {DRIFT_MIN_FILINGS}+ filings)",
    )


def blocking(family: Family, scoped: bool = False) -> Build:
    """The blocking rules. `scoped`: the batch holds some deliveries only (`deliveries_batch`). A rule on each row
    then judges those rows; a rule across rows reads every delivery, restricted where it can be to what those
    rows can change: their filings' revisions, their periods' national totals. Every other row passed these rules
    when it was judged, and still does."""
    every = family_batch(family.name)
    national = f"(SELECT * FROM ({every}) every_row WHERE period IN (SELECT period FROM batch)) batch_periods"

    def build(gxe: Any) -> list[Any]:
        return [
            *not_null(gxe, *family.required_keys, *LINEAGE_REQUIRED),
            gxe.ExpectColumnValuesToBeInSet(column="_channel", value_set=list(CHANNELS)),
            conflicting_revisions(family, every if scoped else None),
            contract_violations(family, family.keys),
            *[gxe.ExpectColumnValueLengthsToEqual(column=f.key, value=18) for f in family.fields if f.uscc],
            *[in_reference(column, seed, key) for column, (seed, key) in CODES[family.name].items()],
            *[valid_in_period(*dated) for dated in DATED_CODES.get(family.name, ())],
            *([not_above(NATIONAL[family.name], national if scoped else "batch", _latest)]
              if family.name in NATIONAL else []),
            *([zone_covers_its_enterprises(f"({every}) every_zone" if scoped else "batch")]
              if family.name == "zone" else []),
        ]

    return build


def warnings(family: Family) -> Build:
    def build(gxe: Any) -> list[Any]:
        return [
            no_deliveries(family.name),
            *([drift(family.name)] if family.name in PROVINCE_COLUMN else []),
            *([short_of(NATIONAL[family.name], "batch", _latest)] if family.name in NATIONAL else []),
            *([zone_enterprises_missing()] if family.name == "zone" else []),
        ]

    return build


def family_suites(family: Family) -> tuple[Suite, Suite]:
    assets = tuple(("raw", f"{family.name}_{channel}") for channel in CHANNELS)
    batch = family_batch(family.name)
    return (
        Suite(f"raw_{family.name}", batch, blocking(family), assets,
              description=f"{family.chinese_name} from both channels: keys, contract ranges and rules, codes, "
                          "national totals; blocks everything downstream on failure."),
        Suite(f"raw_{family.name}_warnings", batch, warnings(family), assets, blocking=False,
              description=f"{family.chinese_name}: missing deliveries and drift between periods; never blocks."),
    )


SUITES: tuple[Suite, ...] = tuple(s for family in FAMILIES.values() for s in family_suites(family))


def scoped_suite(suite: Suite, files: Sequence[Path]) -> Suite:
    """A family's blocking suite judging only the rows of these landed files (see `blocking`). Its warnings are
    about the family as a whole (drift, missing deliveries) and are never scoped."""
    family = FAMILIES[suite.name.removeprefix("raw_")]
    if not suite.blocking or suite.name != f"raw_{family.name}":
        raise ValueError(f"only a family's blocking raw suite can be scoped to deliveries, not {suite.name}")
    return replace(suite, batch=deliveries_batch(family.name, files), build=blocking(family, scoped=True),
                   reads=tuple(f"raw.{family.name}_{channel}" for channel in CHANNELS))
