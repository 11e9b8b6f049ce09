"""Reporting years as Dagster partitions, and the pure helpers that turn a run's years into tags and dbt vars.

A year partition is a reporting period (`period` in every filing), not a delivery day. Landing always lands every
pending delivery whatever the run's years (a province-day file can carry corrections of several earlier years, and
the ledger makes landing idempotent); the years restrict what the incremental facts rebuild and what the run marks as
materialized. A run over every year is the plain `ndc run`.
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


def run_years(tags: dict[str, str]) -> tuple[str | None, str | None]:
    """The years a run covers, from its tags: a single partition, a range, or (None, None) for an unpartitioned run."""
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        return tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    single = tags.get("dagster/partition")
    return (single, single) if single else (None, None)


def record_rows_by_year(context: dg.AssetExecutionContext, asset_key: dg.AssetKey,
                        rows_by_period: Mapping[int | str, int]) -> None:
    """Give each year partition this run materializes its own row count. Without it, Dagster copies one
    materialization's metadata to every year of the run, so a year with no filings showed another's rows. A year of
    the run with no rows is materialized with 0 rows: the run did rebuild it, and it holds nothing."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return
    counts = {str(period): rows for period, rows in rows_by_period.items()}
    for year in context.partition_keys:
        context.add_asset_metadata({"dagster/row_count": counts.get(year, 0)}, asset_key=asset_key, partition_key=year)
