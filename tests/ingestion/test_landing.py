"""Deliveries into the raw layer: replaced by source, idempotent, nothing good lost to a bad re-delivery."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.landing import RawStore, land_file_drops, refresh_raw_schema


def raw_rows(store: RawStore) -> list[tuple]:
    con = duckdb.connect()
    try:
        refresh_raw_schema(con, store, families=["enterprise"])
        return con.execute("SELECT filing_id, revenue, _source FROM raw.enterprise_files ORDER BY filing_id").fetchall()
    finally:
        con.close()


def test_a_redelivered_file_replaces_its_own_rows_only(tmp_path: Path, reports, write):
    store = RawStore(tmp_path / "raw")
    write(reports.head(6), "110000_20230315.csv")
    write(reports.tail(6), "320000_20230315.csv")
    land_file_drops(tmp_path / "landing", store, "enterprise")
    assert len(raw_rows(store)) == 12

    corrected = reports.head(3).copy()
    corrected["revenue"] = corrected["revenue"] + 1
    write(corrected, "110000_20230315.csv")  # same name, new content
    summary = land_file_drops(tmp_path / "landing", store, "enterprise")
    assert [o.source for o in summary.landed] == ["enterprise/2022/110000_20230315.csv"]
    rows = raw_rows(store)
    assert len(rows) == 9
    beijing = [r for r in rows if r[2].endswith("110000_20230315.csv")]
    expected = {f: float(v) + 1 for f, v in zip(corrected.filing_id, reports.head(3).revenue)}
    assert {r[0]: float(r[1]) for r in beijing} == expected


def test_an_identical_redelivery_changes_nothing(tmp_path: Path, reports, write):
    store = RawStore(tmp_path / "raw")
    path = write(reports)
    land_file_drops(tmp_path / "landing", store, "enterprise")
    before = raw_rows(store)
    path.touch()  # a new mtime, the same bytes
    path.write_bytes(path.read_bytes())
    summary = land_file_drops(tmp_path / "landing", store, "enterprise")
    assert summary.landed == [] and summary.unchanged == 1
    assert raw_rows(store) == before


def test_a_truncated_redelivery_is_rejected_and_the_earlier_rows_stay(tmp_path: Path, reports, write):
    store = RawStore(tmp_path / "raw")
    path = write(reports)
    land_file_drops(tmp_path / "landing", store, "enterprise")
    before = raw_rows(store)
    path.write_bytes(path.read_bytes()[:-40])
    summary = land_file_drops(tmp_path / "landing", store, "enterprise")
    assert len(summary.rejected) == 1
    assert "enterprise/2022/110000_20230315.csv" in summary.rejected[0].message
    assert raw_rows(store) == before
    # The rejection is on record for operators.
    statuses = [e["status"] for e in store.ledger("enterprise")]
    assert statuses == ["landed", "rejected"]


def test_every_row_read_is_landed_or_quarantined(tmp_path: Path, reports, write):
    store = RawStore(tmp_path / "raw")
    bad = reports.copy()
    bad.loc[bad.index[:3], "employees"] = -1
    write(bad)
    summary = land_file_drops(tmp_path / "landing", store, "enterprise")
    (outcome,) = summary.landed
    assert outcome.rows_read == len(reports) == outcome.rows_landed + outcome.rows_quarantined
    assert outcome.rows_quarantined == 3
    con = duckdb.connect()
    refresh_raw_schema(con, store)
    assert con.execute("SELECT count(*) FROM raw.quarantine WHERE rule = 'range:employees'").fetchone()[0] == 3
    accounting = con.execute("SELECT rows_read, rows_landed, rows_quarantined FROM raw.ingest_accounting").fetchall()
    assert accounting == [(12, 9, 3)]


def test_families_with_nothing_delivered_have_empty_typed_views(tmp_path: Path):
    con = duckdb.connect()
    counts = refresh_raw_schema(con, RawStore(tmp_path / "raw"))
    assert set(counts.values()) == {0}
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'contract_files'").fetchall())
    assert types["amount"] == "DECIMAL(18,4)" and types["signed_on"] == "DATE"


def test_a_batch_killed_before_its_acknowledgement_lands_once_on_the_next_run(tmp_path: Path, reports, write, monkeypatch):
    store = RawStore(tmp_path / "raw")
    write(reports.head(6), "110000_20230315.csv")
    write(reports.tail(6), "320000_20230315.csv")

    def killed(self, *outcomes):
        raise KeyboardInterrupt("killed after the batch's Parquet files, before the ledger")

    monkeypatch.setattr(RawStore, "record", killed)
    try:
        land_file_drops(tmp_path / "landing", store, "enterprise")
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    summary = land_file_drops(tmp_path / "landing", store, "enterprise")
    assert len(summary.landed) == 2  # nothing was acknowledged, so both files land again
    rows = raw_rows(store)
    assert len(rows) == 12 and len({r[0] for r in rows}) == 12  # and each record is there once
    assert not store.journal_path("enterprise").exists()


def test_a_home_whose_path_holds_quotes_lands_and_is_read(tmp_path: Path, reports, write):
    # Every path reaches DuckDB through ingestion/sql.py's quoting; an unquoted one would end the string at `'`.
    store = RawStore(tmp_path / "O'Brien \"home\"" / "raw")
    write(reports.head(4))
    land_file_drops(tmp_path / "landing", store, "enterprise")
    con = duckdb.connect()
    try:
        refresh_raw_schema(con, store, families=["enterprise"])
        assert con.execute("SELECT count(*) FROM raw.enterprise_files").fetchone() == (4,)
        assert con.execute("SELECT count(*) FROM raw.ingest_accounting").fetchone()[0] >= 1
    finally:
        con.close()


def test_refreshing_the_raw_views_with_nothing_new_leaves_the_build_database_untouched(tmp_path: Path, reports, write):
    """A landing that found nothing new must not write the build database: `ndc run` takes a changed file for a
    changed build and rebuilds (orchestration/fingerprint.py)."""
    store, build = RawStore(tmp_path / "raw"), tmp_path / "build.duckdb"
    write(reports.head(6), "110000_20230315.csv")
    land_file_drops(tmp_path / "landing", store, "enterprise")

    def refresh() -> tuple[int, int, bytes]:
        with duckdb.connect(str(build)) as con:
            refresh_raw_schema(con, store)
        return build.stat().st_size, build.stat().st_mtime_ns, build.read_bytes()

    first = refresh()
    assert refresh() == first
    write(reports.tail(6), "320000_20230315.csv")  # a new delivery: its view reads one more file
    land_file_drops(tmp_path / "landing", store, "enterprise")
    refresh()
    with duckdb.connect(str(build), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.enterprise_files").fetchone()[0] == 12
