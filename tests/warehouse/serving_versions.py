"""Small warehouses whose every table says which version it is, for tests that publish one after another.

Version v has two tables of 100·v rows each, every row carrying v: an observation that mixes versions, or sees a
table half-written, shows up as counts and versions that disagree.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

TABLES = ("facts", "dims")


def build_version(path: Path, version: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table in TABLES:
        con.execute(
            f"CREATE OR REPLACE TABLE analytics.{table} AS SELECT i AS id, {version} AS version, "
            f"'名称 ' || i AS label, CAST(i * 1.5 AS DECIMAL(18, 4)) AS amount, DATE '2023-01-01' + CAST(i AS INTEGER) AS day, "
            f"TIMESTAMPTZ '2024-03-15 08:00:00+08' AS submitted_at, i % 2 = 0 AS flag, "
            f"CASE WHEN i % 7 = 0 THEN NULL WHEN i % 5 = 0 THEN '' ELSE 'x' END AS note, "
            f"'1380000' || i AS contact_phone FROM range({100 * version}) t(i)"
        )
        con.execute(f"COMMENT ON TABLE analytics.{table} IS '版本表. Versioned table.'")
        con.execute(f"COMMENT ON COLUMN analytics.{table}.version IS '版本. Publication version.'")
    con.execute("CREATE OR REPLACE TABLE raw.secret AS SELECT '13800000000' AS contact_phone")
    con.close()


def consistent(observation: list) -> int | None:
    """The version an observation (count, min version, max version per table) shows whole, or None."""
    versions = set()
    for count, low, high in zip(observation[0::3], observation[1::3], observation[2::3]):
        if low != high or count != 100 * low:
            return None
        versions.add(low)
    return versions.pop() if len(versions) == 1 else None


SIGNATURE = "SELECT " + ", ".join(
    f"(SELECT count(*) FROM analytics.{t}), (SELECT min(version) FROM analytics.{t}), "
    f"(SELECT max(version) FROM analytics.{t})" for t in TABLES
)
