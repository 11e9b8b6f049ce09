"""The whole pipeline through the real `ndc` command: file drops in, gated publication out."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_ndc

pytestmark = pytest.mark.slow


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serving_counts(home: Path) -> dict[str, int]:
    con = duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in tables}
    finally:
        con.close()


def duplicate_report_delivery(home: Path) -> Path:
    """A province delivers an enterprise's 2022 report a second time under a new filing id."""
    source = sorted((home / "landing" / "enterprise" / "2022").glob("*.csv"))[0]
    raw = source.read_bytes()
    text = next(raw.decode(e) for e in ("utf-8-sig", "gb18030") if _decodes(raw, e))
    rows = list(csv.reader(text.splitlines()))
    header, record = rows[0], next(r for r in rows[1:] if r[0] != "单位")
    if rows[1][0] == "单位":  # keep the unit row so the amounts mean what they meant
        header_rows = [header, rows[1]]
    else:
        header_rows = [header]
    record = [record[0] + "-AGAIN", *record[1:]]
    target = home / "landing" / "enterprise" / "2022" / "110000_20231201.csv"
    with target.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([*header_rows, record])
    return target


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def test_run_publishes_then_a_bad_delivery_is_blocked_and_changes_nothing(ndc_home: Path):
    first = run_ndc(ndc_home, "run")
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert "PUBLISHED" in first.stdout
    counts = serving_counts(ndc_home)
    assert counts["analytics.fct_enterprise_annual"] > 0
    assert counts["analytics.dim_enterprise"] > 0
    assert not any(name.startswith(("raw.", "staging.", "intermediate.")) for name in counts), "BI sees only analytics"
    serving = ndc_home / "warehouse" / "serving.duckdb"
    published = sha256(serving)

    duplicate_report_delivery(ndc_home)
    blocked = run_ndc(ndc_home, "run")
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr[-3000:]
    assert "NOT PUBLISHED" in blocked.stdout
    assert "gx_fct_enterprise_annual" in blocked.stdout
    assert "expect_compound_columns_to_be_unique(uscc, period)" in blocked.stdout
    assert sha256(serving) == published


def test_a_family_with_nothing_delivered_still_publishes(tmp_path: Path):
    home = tmp_path / "empty"
    result = run_ndc(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert serving_counts(home)["analytics.fct_enterprise_annual"] == 0
