"""The quarterly flash reports (季度快报) of one year: monitoring-point enterprises and the zones themselves.

A report gives year-to-date (本年累计) figures at the end of a quarter. They are drawn so that the fourth quarter's
year-to-date figures are the year's annual report (a few reporters' flash figures differ from it, as 快报 and 年报
do), and the single quarters (当季 = 本季止累计 − 上季止累计, domain-additions §3) are shares of the year.

The panel of monitoring-point enterprises is a share of the enterprises located in each open zone (at least
MIN_PANEL per zone where it has as many), drawn once for the whole run; some join it after the first quarter
simulated and some leave it before the last, at any quarter. Every open zone files its own report each quarter.
Quarterly reports come from a generator stream of their own, so adding them changes no other family's filings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.periods import QUARTERLY_DEADLINE_DAYS
from simulator.codes import digits, text
from simulator.defects import YTD_DECREASED
from simulator.filings import DELIVERY_ORDER, NO_ZONE, Filed, _office_seconds, _strings, _timestamps, replace_column
from simulator.world import Population, World

PANEL_SHARE = 0.1  # of the enterprises located in a zone, monitoring points (synthetic)
MIN_PANEL = 3  # per zone, where it has that many enterprises
JOIN_SHARE, LEAVE_SHARE = 0.15, 0.15  # panel members joining after the first simulated quarter / leaving before the last
# Provinces forward the reports on the deadline (ingestion/periods.py), and late reports weekly
# after the deadline, up to LATE_WEEKS weeks.
DELIVERY_DAYS = (QUARTERLY_DEADLINE_DAYS,)
LATE_SHARE = 0.05
LATE_WEEKS = 6
# Flash reports that differ from the annual report: most by a little, a few by more than the reconciliation's
# tolerance (expectations/published.py), so its warning has something to show.
FLASH_GAP_SHARE, FLASH_GAP_SIGMA = 0.1, 0.01
FLASH_OFF_SHARE = 0.01
CORRECTION_SHARE = 0.04  # reports whose first revision has a wrong revenue, corrected by revision 2
MIN_FALLING_REVENUE = 100.0  # a previous quarter large enough that a fall survives rounding to 0.1
QUARTER_SHARE_ALPHA = 8.0  # Dirichlet concentration of a year's split into quarters
# Measures: (contract key of the quarterly report, key of the annual report it adds up to).
MEASURES = (("revenue_ytd", "revenue"), ("industrial_output_ytd", "industrial_output"), ("exports_ytd", "exports"),
            ("net_profit_ytd", "net_profit"), ("taxes_paid_ytd", "taxes_paid"), ("rd_expense_ytd", "rd_expense"))


def quarter_index(year: int, quarter: int) -> int:
    return year * 4 + quarter - 1


def panel(rng: np.random.Generator, world: World) -> Population:
    """Per enterprise: its panel draw `u` (a member where below PANEL_SHARE, or among its zone's MIN_PANEL lowest),
    and the first and last quarter (quarter_index) it reports in."""
    n = len(world.enterprises)
    first, last = quarter_index(world.years.start, 1), quarter_index(world.years.stop - 1, 4)
    joins = rng.random(n) < JOIN_SHARE
    leaves = rng.random(n) < LEAVE_SHARE
    return Population(
        u=rng.random(n),
        from_q=np.where(joins, rng.integers(first + 1, last + 1, n), first - 1),
        to_q=np.where(leaves, rng.integers(first, last, n), last + 1),
    )


def _rank_in_group(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Each row's 0-based rank by `value` among the rows of its `group`."""
    order = np.lexsort((value, group))
    sorted_group = group[order]
    starts = np.searchsorted(sorted_group, sorted_group, "left")
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(group)) - starts
    return rank


def _submission(rng: np.random.Generator, year: int, quarter: np.ndarray) -> np.ndarray:
    """China-time submission day (days since 1970) of reports of `quarter`: by the deadline, or some late."""
    n = len(quarter)
    start = np.datetime64(f"{year}-01", "M")
    quarter_end = ((start + (3 * quarter).astype("timedelta64[M]")).astype("datetime64[D]") - 1).astype(np.int64)
    on_time = np.array(DELIVERY_DAYS)[rng.integers(0, len(DELIVERY_DAYS), n)]
    late = QUARTERLY_DEADLINE_DAYS + 7 * rng.integers(1, LATE_WEEKS + 1, n)
    return quarter_end + np.where(rng.random(n) < LATE_SHARE, late, on_time)


def _year_to_date(rng: np.random.Generator, annual: dict[str, np.ndarray], employees: np.ndarray,
                  quarter: np.ndarray, reporter: np.ndarray, n_reporters: int) -> dict[str, np.ndarray]:
    """Year-to-date measures of report rows (`reporter` indexes the annual arrays): cumulative shares of the year,
    the fourth quarter equal to the annual figure but for the flash reports that differ from it."""
    shares = rng.dirichlet(np.full(4, QUARTER_SHARE_ALPHA), n_reporters)
    cumulative = np.cumsum(shares, axis=1)
    cumulative[:, 3] = 1.0
    gap = np.where(rng.random(n_reporters) < FLASH_GAP_SHARE, rng.normal(0, FLASH_GAP_SIGMA, n_reporters), 0.0)
    off = rng.random(n_reporters) < FLASH_OFF_SHARE
    gap = np.where(off, rng.choice([-1, 1], n_reporters) * rng.uniform(0.08, 0.2, n_reporters), gap)
    level = (1 + gap[reporter]) * cumulative[reporter, quarter - 1]
    # Net profit also moves within the year: a quarter's loss can bring its year-to-date figure down.
    swing = np.where(quarter < 4, rng.normal(0, 0.02, len(reporter)), 0.0) * annual["revenue"][reporter]
    out = {}
    for key, annual_key in MEASURES:
        values = annual[annual_key][reporter] * level
        if key == "net_profit_ytd":
            values = values + swing
        out[key] = np.round(values, 1)
    staff = employees[reporter] * np.where(quarter < 4, rng.lognormal(0, 0.03, len(reporter)), 1.0)
    out["employees"] = np.maximum(0, np.round(staff)).astype(np.int64)
    return out


def quarterly_reports(rng: np.random.Generator, world: World, year: int, filed: Filed, zones: pa.Table,
                      members: Population) -> tuple[pa.Table, pa.Table]:
    """The year's quarterly reports in delivery order (first revisions, some with a wrong revenue), and the
    revisions 2 that correct them. `filed` is the year's enterprise reports as their latest revisions say, `zones`
    the year's zone reports, `members` the panel (`panel()`)."""
    quarters = np.arange(1, 5)
    # Monitoring points: enterprises located in an open zone, in the panel, in the quarters they report.
    located = np.flatnonzero(filed.zone != NO_ZONE)
    who = filed.members[located]
    zone = filed.zone[located]
    u = members["u"][who]
    chosen = located[(u < PANEL_SHARE) | (_rank_in_group(zone, u) < MIN_PANEL)]
    who = filed.members[chosen]
    row, quarter = np.repeat(chosen, 4), np.tile(quarters, len(chosen))
    qi = quarter_index(year, quarter)
    reporting = (members["from_q"][np.repeat(who, 4)] <= qi) & (qi <= members["to_q"][np.repeat(who, 4)])
    row, quarter = row[reporting], quarter[reporting]
    table = filed.table
    annual = {key: table[key].to_numpy() for _, key in MEASURES}
    ytd = _year_to_date(rng, annual, table["employees"].to_numpy(), quarter, row, len(table))
    uscc = world.enterprises["uscc"][filed.members[row]]
    day = _submission(rng, year, quarter)
    seconds = _office_seconds(rng, len(row))
    enterprises = pa.table({
        "filing_id": text(f"QTR-{year}Q", digits(quarter, 1), "-", uscc),
        "quarter": quarter.astype(np.int64),
        "uscc": text(uscc),
        "zone_code": table["zone_code"].take(pa.array(row)),
        **ytd,
        "_province": filed.province[row],
        "_day": day,
        "_seconds": seconds,
    })

    # Every open zone's own report, adding up to its annual report.
    n_zones = len(zones)
    zrow, zquarter = np.repeat(np.arange(n_zones), 4), np.tile(quarters, n_zones)
    zannual = {key: zones[key].to_numpy().astype(np.float64) for _, key in MEASURES}
    zytd = _year_to_date(rng, zannual, zones["employees"].to_numpy(), zquarter, zrow, n_zones)
    zcode = zones["zone_code"].take(pa.array(zrow))
    zday = _submission(rng, year, zquarter)
    zone_reports = pa.table({
        "filing_id": _strings([f"QTR-{year}Q{q}-{z}" for q, z in zip(zquarter, zcode.to_pylist())]),
        "quarter": zquarter.astype(np.int64),
        "uscc": pa.nulls(len(zrow), pa.string()),
        "zone_code": zcode,
        **zytd,
        "_province": zones["_province"].to_numpy()[zrow],
        "_day": zday,
        "_seconds": _office_seconds(rng, len(zrow)),
    })
    both = pa.concat_tables([enterprises, zone_reports])
    n = len(both)
    both = both.append_column("revision", pa.array(np.ones(n, np.int64))).append_column(
        "period", pa.array(np.full(n, year, np.int64))).append_column(
        "submitted_at", _timestamps(both["_day"].to_numpy(), both["_seconds"].to_numpy()))
    both = both.drop_columns(["_seconds"]).sort_by(DELIVERY_ORDER)
    return _with_corrections(rng, both)


def _with_corrections(rng: np.random.Generator, reports: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A share of first revisions with a revenue off by up to 15%, and the revisions 2 sent a few weeks later with
    the figure as it should be (a correction may come after the next quarter's report)."""
    wrong = np.flatnonzero(rng.random(len(reports)) < CORRECTION_SHARE)
    fixes = reports.take(wrong)
    n = len(wrong)
    delay = 7 * rng.integers(1, 14, n)
    fixes = replace_column(fixes, "revision", np.full(n, 2, np.int64))
    fixes = replace_column(fixes, "_day", fixes["_day"].to_numpy() + delay)
    fixes = replace_column(fixes, "submitted_at", _timestamps(
        fixes["_day"].to_numpy(), rng.integers(8 * 3600, 20 * 3600, n)))
    revenue = reports["revenue_ytd"].to_numpy().copy()
    revenue[wrong] = np.round(revenue[wrong] * rng.choice([0.85, 0.9, 1.1, 1.15], n), 1)
    return replace_column(reports, "revenue_ytd", revenue), fixes


def falling_year_to_date(rng: np.random.Generator, reports: pa.Table, fixes: pa.Table) -> pa.Table:
    """`reports` (one year's first revisions) with a few year-to-date revenues below the same reporter's previous
    quarter (defect YTD_DECREASED), named in `_defect`. Only second and third quarters are hit, so that the fourth
    quarter's reconciliation with the annual report is not also touched, and only where neither the report nor the
    previous one is corrected by a later revision (which would take the fall back out)."""
    n = len(reports)
    reporter = np.asarray(pc.coalesce(reports["uscc"], reports["zone_code"]).to_pylist(), dtype=object)
    quarter = reports["quarter"].to_numpy()
    revenue = reports["revenue_ytd"].to_numpy().copy()
    corrected = np.isin(reports["filing_id"].to_numpy(zero_copy_only=False),
                        fixes["filing_id"].to_numpy(zero_copy_only=False))
    row_of = {(r, q): i for i, (r, q) in enumerate(zip(reporter, quarter))}
    previous = np.array([row_of.get((r, q - 1), -1) for r, q in zip(reporter, quarter)], np.int64)
    eligible = np.flatnonzero((quarter >= 2) & (quarter <= 3) & (previous >= 0) & ~corrected
                              & ~corrected[previous] & (revenue[previous] >= MIN_FALLING_REVENUE))
    count = min(len(eligible), max(1, round(YTD_DECREASED.rate * len(eligible))))
    hit = np.sort(rng.choice(eligible, count, replace=False))
    revenue[hit] = np.round(revenue[previous[hit]] * rng.uniform(0.85, 0.97, count), 1)
    defect = np.full(n, None, dtype=object)
    defect[hit] = YTD_DECREASED.name
    return replace_column(reports, "revenue_ytd", revenue).append_column("_defect", pa.array(defect, pa.string()))
