"""The nightly delivery of the incremental scenario: about 1% of the records, as new and corrected filings spread
over every year of the warehouse, dropped as provincial CSV files the way a province would send them.

- Corrections: the latest revision of enterprise reports and contracts drawn at random from every year (so
  earlier years are restated), delivered as the next revision, a week after the latest submission, with revenue
  or contract amount raised by 1% (every `≤` rule of the contract still holds).
- New filings: contracts registered late, copies of drawn contracts under a new filing id and contract number.

Half of the delivery is corrections, half new filings. Drawn from what the full run landed (a seeded reservoir
sample), so it fits any scale and seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from expectations.rules import latest_revisions
from ingestion.contracts import FAMILIES
from ingestion.sql import ident, literal

SHARE = 0.01
CORRECTED = {"enterprise": "revenue", "contract": "amount"}
FILE_NAME = "nightly_{date}_{kind}.csv"


@dataclass
class NightlyDelivery:
    records: int = 0
    corrections: int = 0
    new_filings: int = 0
    by_period: dict[int, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)




def write_delivery(build_db: Path, landing: Path, records: int, seed: int, date: str = "20991231") -> NightlyDelivery:
    """Write the nightly files under `landing` for a warehouse of `records` records, from `build_db`'s raw layer."""
    total = max(4, math.ceil(records * SHARE))
    delivery = NightlyDelivery()
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        sizes = {f: con.execute(f"SELECT count(*) FROM raw.{f}_files").fetchone()[0] for f in CORRECTED}
        corrections = total // 2
        share = {f: round(corrections * n / max(1, sum(sizes.values()))) for f, n in sizes.items()}
        plan = [("enterprise", "correction", share["enterprise"]), ("contract", "correction", share["contract"]),
                ("contract", "new", total - share["enterprise"] - share["contract"])]
        for i, (family, kind, n) in enumerate(plan):
            if n <= 0:
                continue
            _draw(con, family, kind, n, seed + i)
            written = _write(con, family, kind, landing, date, delivery)
            if kind == "correction":
                delivery.corrections += written
            else:
                delivery.new_filings += written
    finally:
        con.close()
    delivery.records = delivery.corrections + delivery.new_filings
    return delivery


def _draw(con: duckdb.DuckDBPyConnection, family: str, kind: str, n: int, seed: int) -> None:
    fields = [f.key for f in FAMILIES[family].fields]
    measure = CORRECTED[family]
    changed = {
        "correction": {
            "revision": "revision + 1",
            "submitted_at": "submitted_at + INTERVAL 7 DAY",
            measure: f"round({measure} * 1.01, 2)",
        },
        "new": {
            "filing_id": "filing_id || '-N'",
            "contract_no": "contract_no || '-N'",
            "revision": "1",
            "submitted_at": "submitted_at + INTERVAL 7 DAY",
        },
    }[kind]
    select = ", ".join(f"{changed.get(k, ident(k))} AS {ident(k)}" for k in fields)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE drawn AS
        WITH latest AS ({latest_revisions(f"raw.{family}_files")})
        SELECT {select} FROM latest USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE ({int(seed)})
    """)


def _write(con: duckdb.DuckDBPyConnection, family: str, kind: str, landing: Path, date: str,
           delivery: NightlyDelivery) -> int:
    contract = FAMILIES[family]
    headers = ", ".join(f"CAST({ident(f.key)} AS VARCHAR) AS {ident(f.header)}" for f in contract.fields)
    written = 0
    for period, n in con.execute("SELECT period, count(*) FROM drawn GROUP BY ALL ORDER BY ALL").fetchall():
        target = Path(landing) / family / str(period) / FILE_NAME.format(date=date, kind=kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY (SELECT {headers} FROM drawn WHERE period = {int(period)}) TO {literal(str(target))} "
                    "(HEADER, DELIMITER ',')")
        delivery.files.append(target.relative_to(landing).as_posix())
        delivery.by_period[period] = delivery.by_period.get(period, 0) + n
        written += n
    return written
