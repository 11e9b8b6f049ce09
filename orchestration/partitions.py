"""Reporting years as Dagster partitions, and the pure helpers that turn a run's years into tags and dbt vars.

A year partition is a reporting period (`period` in every filing), not a delivery day. Landing always lands every
pending delivery whatever the run's years (a province-day file can carry corrections of several earlier years, and
the ledger makes landing idempotent); the years restrict what the incremental facts rebuild and what the run marks as
materialized. A run over every year is the plain `ndc run`.

The quarterly flash reports' models are partitioned by quarter instead ("2023-Q3", QUARTERS), their own Dagster
partitions (orchestration/quarterly.py); a quarter maps to its year of the raw assets they read (QUARTER_TO_YEAR).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Mapping

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from ingestion.periods import parse_years

# Backfill policies are marked beta in Dagster 1.13; the single-run policy is the one this project relies on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

# The first year the reference data (zones, national figures, 2019 zone status) supports.
FIRST_YEAR = 2019


def reporting_years(today: dt.date | None = None) -> list[str]:
    """2019 up to last year: a year's annual reports are filed in the following spring, never earlier."""
    today = today or dt.date.today()
    return [str(year) for year in range(FIRST_YEAR, today.year)]


YEARS = dg.StaticPartitionsDefinition(reporting_years())
# A backfill of one year or of many is one run: one `dbt build`, one gate session, one publication.
SINGLE_RUN = dg.BackfillPolicy.single_run()


def reporting_quarters(today: dt.date | None = None) -> list[str]:
    """Every quarter from 2019's first to the last one that has ended ("2019-Q1", …): a quarter's flash reports are
    filed after its end, so a quarter still running has no partition yet."""
    today = today or dt.date.today()
    ended = (today.year - FIRST_YEAR) * 4 + (today.month - 1) // 3  # the quarters before today's
    return [f"{FIRST_YEAR + i // 4}-Q{i % 4 + 1}" for i in range(ended)]


def quarter_key(year: int, quarter: int) -> str:
    """The partition key of a year's quarter (1-4), as the quarterly tables' `period` and `quarter` name it."""
    return f"{year}-Q{quarter}"


def year_of_quarter(key: str) -> str:
    """'2023-Q3' -> '2023': a quarterly report's `period` is its year."""
    return key.split("-Q")[0]


QUARTERS = dg.StaticPartitionsDefinition(reporting_quarters())


def quarter_to_year(quarters: Iterable[str], years: Iterable[str]) -> dg.StaticPartitionMapping:
    """Each quarter to its year's partition of a yearly asset (Dagster's static mapping is keyed by the upstream
    year). The quarters of the running year map to nothing: the year partitions end last year, and those quarters'
    rows are in the raw layer all the same."""
    by_year: dict[str, set[str]] = {year: set() for year in years}
    for quarter in quarters:
        if year_of_quarter(quarter) in by_year:
            by_year[year_of_quarter(quarter)].add(quarter)
    return dg.StaticPartitionMapping({year: frozenset(qs) for year, qs in by_year.items() if qs})


QUARTER_TO_YEAR = quarter_to_year(QUARTERS.get_partition_keys(), YEARS.get_partition_keys())


def parse_year_range(text: str, known: Iterable[str] | None = None) -> tuple[str, str]:
    """'2022' or '2022-2023' (ingestion.periods) into (first, last), both reporting years this deployment has
    partitions for."""
    known = list(known or YEARS.get_partition_keys())
    years = parse_years(text)
    first, last = str(years[0]), str(years[-1])
    for year in (first, last):
        if year not in known:
            raise ValueError(f"{year!r} is not a reporting year of this deployment ({known[0]}-{known[-1]})")
    return first, last


def range_tags(first: str, last: str) -> dict[str, str]:
    """The run tags that make one run cover the years first..last (a single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def all_years_tags() -> dict[str, str]:
    keys = YEARS.get_partition_keys()
    return range_tags(keys[0], keys[-1])


def covering_range(years: Iterable[int | str], known: Iterable[str] | None = None) -> tuple[str, str] | None:
    """The smallest range of partitions covering these periods, or None when none of them is a partition.
    Years outside the partitions (a filing for a year the reference does not cover) are left to a full run."""
    known = set(known or YEARS.get_partition_keys())
    inside = sorted(int(y) for y in years if str(y) in known)
    return (str(inside[0]), str(inside[-1])) if inside else None


def rebuilt_years(first: str | None, last: str | None, known: Iterable[str] | None = None) -> tuple[int, int] | None:
    """The years first..last when a run rebuilds only those; None when it covers every year (or is unpartitioned)."""
    keys = list(known or YEARS.get_partition_keys())
    if first is None or last is None or (first == keys[0] and last == keys[-1]):
        return None
    return int(first), int(last)


def dbt_period_vars(first: str | None, last: str | None, known: Iterable[str] | None = None) -> dict[str, int]:
    """The dbt vars that restrict the incremental facts to periods first..last. A run over every year passes none,
    so it rebuilds exactly what a plain `dbt build` would (periods outside the partitions included)."""
    years = rebuilt_years(first, last, known)
    return {"period_from": years[0], "period_to": years[1]} if years else {}


def run_partitions(tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The first and last partition a run covers, from its tags: a single partition, a range, or (None, None)."""
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        return tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    single = tags.get("dagster/partition")
    return (single, single) if single else (None, None)


def run_years(tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The years a run covers, from its tags: a single partition, a range, or (None, None) for an unpartitioned run
    and for a quarter's run (which restricts no year: orchestration/quarterly.py)."""
    first, last = run_partitions(tags)
    if first is None or not (first.isdigit() and last.isdigit()):
        return None, None
    return first, last


def record_rows_by_partition(context: dg.AssetExecutionContext, asset_key: dg.AssetKey,
                             rows_by_key: Mapping[int | str, int]) -> None:
    """Give each partition (a year, or a quarter) this run materializes its own row count. Without it, Dagster
    copies one materialization's metadata to every partition of the run, so a year with no filings showed another's
    rows. A partition of the run with no rows is materialized with 0 rows: the run did rebuild it, and it holds
    nothing."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return
    counts = {str(key): rows for key, rows in rows_by_key.items()}
    for key in context.partition_keys:
        context.add_asset_metadata({"dagster/row_count": counts.get(key, 0)}, asset_key=asset_key, partition_key=key)
