"""The gates' Data Docs, as a run leaves them under quality/docs/: a failed rule shows rows that broke it. Read from
the shared scenarios (tests/conftest.py); nothing is validated again here."""

from __future__ import annotations

import duckdb


def test_a_failed_rule_shows_the_rows_that_broke_it_on_its_page(blocked_sample):
    home = blocked_sample.home
    with duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True) as con:
        ((uscc,),) = con.execute("select uscc from analytics.fct_enterprise_annual "
                                 "group by uscc, period having count(*) > 1").fetchall()
    pages = sorted((home / "quality" / "docs" / "validations" / "fct_enterprise_annual").rglob("*.html"))
    newest = pages[-1].read_text(encoding="utf-8")  # <run name>/<run time>/<batch>.html: the blocked run's
    assert "one row per (uscc, period)" in newest and "Sample of the rows breaking the rule" in newest
    assert uscc in newest
    assert not any(uscc in p.read_text(encoding="utf-8") for p in pages[:-1])  # it passed before the bad delivery
