"""Every class of the bad-input corpus (`bad_input_corpus.py`) lands with the outcome it documents, in every family
it applies to, and the table in ingestion/BAD_INPUT.md is the one rendered from the corpus."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb
import pytest

from ingestion import file_drops
from ingestion.landing import RawStore, land_file_drops, refresh_raw_schema
from ingestion.sql import literal
from ingestion.uscc import checksum_ok
from orchestration.settings import REPO_ROOT
from tests.ingestion import bad_input_corpus as corpus
from tests.ingestion.bad_input_corpus import CASES, FAKE_SECRET, SPECS, Case, Spec

FILE_NAME = b"110000_20240315"
# Control characters that must never reach a message, a log line or the ledger from a delivery.
UNPRINTABLE = ("\n", "\r", "\x1b", "\x9b", "\x07")

PAIRS = [(case, spec) for case in CASES for spec in SPECS.values() if case.applies(spec)]


def land(tmp_path: Path, case: Case, spec: Spec, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[RawStore, dict]:
    """Land the case's file for the family; return the store and the file's ledger entry."""
    for name, value in case.limits:
        assert monkeypatch, "a case with lowered limits needs monkeypatch"
        monkeypatch.setattr(file_drops, name, value)
    home = tmp_path / "ndc'home"  # a quote in NDC_HOME: no path may end a SQL string early
    landing = home / "landing"
    folder = landing / spec.name / "2023"
    folder.mkdir(parents=True)
    name = case.name or FILE_NAME + case.suffix.encode()
    target = os.path.join(os.fsencode(folder), name)
    if case.symlink:
        secret = tmp_path / "secrets.env"
        secret.write_bytes(case.build(spec))
        os.symlink(secret, target)
    else:
        with open(target, "wb") as fh:
            fh.write(case.build(spec))
    store = RawStore(home / "raw")
    land_file_drops(landing, store, spec.name)
    (entry,) = store.ledger(spec.name)
    return store, entry


def raw_reader(store: RawStore, family: str) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the family's raw views over the store (a test's queries share one: opening a
    DuckDB database and defining the views cost more than the queries; one thread does these small queries in the
    same time as two, for less CPU)."""
    con = duckdb.connect(config={"threads": "1"})
    refresh_raw_schema(con, store, families=[family])
    return con


def query(store: RawStore, sql: str, family: str) -> list[tuple]:
    with raw_reader(store, family) as con:
        return con.execute(sql).fetchall()


def test_the_corpus_has_at_least_30_classes_and_every_outcome():
    assert len(CASES) >= 30 and len({c.key for c in CASES}) == len(CASES)
    assert {c.outcome for c in CASES} == {corpus.REJECTED, corpus.QUARANTINED, corpus.FLAGGED, corpus.KEPT,
                                          corpus.DEDUPLICATED, corpus.BLOCKED}


def test_every_class_is_tried_on_every_family_that_has_the_field():
    for spec in SPECS.values():
        tried = {case.key for case, s in PAIRS if s is spec}
        assert len(tried) >= 60, (spec.name, len(tried))
    # A class left out of a family is one the family has no field for (zone: no USCC, date, yes/no or pair rule;
    # quarterly: no name, date, yes/no, region or pair rule), or one about fields only zone reports have (the green
    # account's energy by carrier).
    zone_only = {"energy_carriers_off_total"}
    assert all(case.applies(SPECS["zone"]) for case in CASES if case.key in zone_only)
    skipped = {(case.key, spec.name) for case in CASES for spec in SPECS.values()
               if not case.applies(spec) and case.key not in zone_only}
    assert {family for _, family in skipped} <= {"contract", "zone", "quarterly"}, skipped


def test_the_documented_table_is_rendered_from_the_corpus():
    doc = REPO_ROOT / "ingestion" / "BAD_INPUT.md"
    assert doc.read_text(encoding="utf-8") == corpus.render(), (
        "ingestion/BAD_INPUT.md is out of date: python -m tests.ingestion.bad_input_corpus > ingestion/BAD_INPUT.md")


@pytest.mark.parametrize(("case", "spec"), PAIRS, ids=[f"{s.name}-{c.key}" for c, s in PAIRS])
def test_each_bad_input_gets_its_documented_outcome(tmp_path: Path, case: Case, spec: Spec,
                                                    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    store, entry = land(tmp_path, case, spec, monkeypatch)
    with raw_reader(store, spec.name) as con:
        check_outcome(con, case, spec, entry, caplog.messages)


def check_outcome(con: duckdb.DuckDBPyConnection, case: Case, spec: Spec, entry: dict, messages: list[str]) -> None:
    def query(sql: str) -> list[tuple]:
        return con.execute(sql).fetchall()

    source, table, expect = entry["source"], f"raw.{spec.name}_files", case.expect_for(spec)
    landed = query(f"SELECT filing_id FROM {table} WHERE _source = {literal(source)}")
    quarantined = query(f"SELECT rule, reason FROM raw.quarantine WHERE _source = {literal(source)}")
    # Whatever the file holds or is named, what the pipeline writes about it is printable and short.
    said = [entry["source"], entry["message"] or "", *(r for _, r in quarantined), *messages]
    assert not [s for s in said if any(c in s for c in UNPRINTABLE)], said
    assert all(len(reason) < 400 for _, reason in quarantined), [len(r) for _, r in quarantined]
    if case.outcome == corpus.REJECTED:
        assert entry["status"] == "rejected"
        assert expect in entry["message"] and source in entry["message"], entry["message"]
        assert not landed and not quarantined
        return
    assert entry["status"] == "landed", entry["message"]
    assert entry["rows_read"] == entry["rows_landed"] + entry["rows_quarantined"]
    assert len(landed) == case.records_landed, landed
    good = {f"BAD-2023-{n:05d}" for n in (1, 2)}
    if case.outcome == corpus.QUARANTINED:
        assert quarantined and all(rule == expect for rule, _ in quarantined), quarantined
        assert all(reason for _, reason in quarantined)
        if case.records_landed == 2:
            assert {f for (f,) in landed} == good  # the good records beside it landed
        return
    assert not quarantined, quarantined
    if case.outcome == corpus.FLAGGED:
        column = spec.needed("uscc")
        (code,) = query(f"SELECT {column} FROM {table} WHERE filing_id = 'BAD-2023-00003'")[0]
        assert not checksum_ok(code)  # landed; the dimension carries uscc_valid = false
    elif case.outcome in (corpus.BLOCKED, corpus.DEDUPLICATED):
        copies = query(f"SELECT count(*), count(DISTINCT {spec.needed('revenue')}) FROM {table} "
                       "WHERE filing_id = 'BAD-2023-00001'")[0]
        assert copies == ((2, 2) if case.outcome == corpus.BLOCKED else (2, 1))
    if case.key in KEPT_AS_DELIVERED:
        names = query(f"SELECT {spec.needed('name')} FROM {table} WHERE filing_id = 'BAD-2023-00003'")
        assert names == [(KEPT_AS_DELIVERED[case.key],)]
    if case.key in LANDED_VALUES:
        sql, expected = LANDED_VALUES[case.key]
        assert query(sql.format(table=table, **{k: spec.key(k) for k in ("revenue", "name")})) == expected


KEPT_AS_DELIVERED = {
    "csv_injection": "=cmd|'/C calc'!A0",
    "sql_in_text": "x'); DROP TABLE raw.quarantine; --",
    "html_in_text": "<script>alert('x')</script>",
    "quotes_and_newline": '北京"双引号"科技\n有限公司',
}
B3 = "FROM {table} WHERE filing_id = 'BAD-2023-00003'"
CHINA_10AM_IN_UTC = [("2024-03-15 02:00:00+00",)]
LANDED_VALUES = {
    "thousands_separators": (f"SELECT CAST({{revenue}} AS VARCHAR) {B3}", [("1234567.8900",)]),
    "missing_optional_column": ("SELECT count(*) FROM {table} WHERE {revenue} IS NULL", [(2,)]),
    "mixed_line_ends": ("SELECT list(_row_number ORDER BY _row_number) FROM {table}", [([2, 3, 4],)]),
    "unit_row": ("SELECT list(_row_number ORDER BY _row_number) FROM {table}", [([3, 4, 5],)]),
    "unit_word_in_first_record": ("SELECT {name}, _row_number FROM {table} WHERE filing_id = 'BAD-2023-00001'",
                                  [("单位", 2)]),
    "time_without_offset": (f"SET TimeZone = 'UTC'; SELECT CAST(submitted_at AS VARCHAR) {B3}", CHINA_10AM_IN_UTC),
    "time_in_cst": (f"SET TimeZone = 'UTC'; SELECT CAST(submitted_at AS VARCHAR) {B3}", CHINA_10AM_IN_UTC),
    "quote_in_file_name": ("SELECT count(*) FROM {table} WHERE _source LIKE '%''.csv'", [(3,)]),
}


def test_the_enterprise_values_land_as_delivered(tmp_path: Path):
    spec = SPECS["enterprise"]
    for key, sql, expected in (
        ("missing_markers", f"SELECT employees, st_staff, revenue, listed {B3}", [(None, None, None, None)]),
        ("xlsx_ok", f"SELECT CAST(revenue AS VARCHAR), established_on::VARCHAR, listed {B3}",
         [("56000.5000", "2015-06-01", False)]),
    ):
        case = next(c for c in CASES if c.key == key)
        store, _ = land(tmp_path / key, case, spec)
        assert query(store, sql.format(table="raw.enterprise_files"), "enterprise") == expected, key


def test_a_symlink_s_target_surfaces_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """A link to a secrets file is refused unread: its content is in no raw file, ledger line or log message."""
    caplog.set_level(logging.DEBUG)
    case = next(c for c in CASES if c.key == "symlink")
    for spec in SPECS.values():
        land(tmp_path / spec.name, case, spec)
    secret = FAKE_SECRET.split("=")[1].encode()
    written = [p for p in (tmp_path).rglob("*") if p.is_file() and not p.is_symlink() and p.name != "secrets.env"]
    assert written and not [p for p in written if secret in p.read_bytes()]
    assert not [m for m in caplog.messages if secret.decode() in m]


@pytest.mark.parametrize("key", ["bom_utf8", "gb18030", "header_only"])
def test_encodings_and_empty_deliveries_are_on_record(tmp_path: Path, key: str):
    case = next(c for c in CASES if c.key == key)
    _, entry = land(tmp_path, case, SPECS["enterprise"])
    expected = {"bom_utf8": "utf-8-sig", "gb18030": "gb18030", "header_only": "utf-8"}[key]
    assert entry["encoding"] == expected and entry["rows_read"] == case.records_landed


def test_a_revision_delivered_again_with_other_content_blocks_publication(tmp_path: Path):
    from expectations.runner import validate_suites
    from expectations.suites import SUITES

    case = next(c for c in CASES if c.outcome == corpus.BLOCKED)
    store, _ = land(tmp_path, case, SPECS["enterprise"])
    db = tmp_path / "build.duckdb"
    con = duckdb.connect(str(db))
    refresh_raw_schema(con, store)
    con.close()
    (result,) = validate_suites(db, [SUITES["raw_enterprise"]])
    assert not result.passed and result.blocking
    failed = {f.expectation: f for f in result.failures}
    assert set(failed) == {"one_content_per_revision"}, result.summary()
    assert "BAD-2023-00001" in str(failed["one_content_per_revision"].sample)
