"""Every class of the bad-input corpus (`bad_input_corpus.py`) lands with the outcome it documents, and the table
in ingestion/BAD_INPUT.md is the one rendered from the corpus."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingestion.landing import RawStore, land_file_drops, refresh_raw_schema
from ingestion.uscc import checksum_ok
from orchestration.settings import REPO_ROOT
from tests.ingestion import bad_input_corpus as corpus
from tests.ingestion.bad_input_corpus import CASES, Case

SOURCE_DIR = "enterprise/2023"


def land(tmp_path: Path, case: Case) -> tuple[RawStore, dict]:
    """Land the case's file; return the store and the file's ledger entry."""
    landing = tmp_path / "landing"
    folder = landing / SOURCE_DIR
    folder.mkdir(parents=True)
    (folder / f"110000_20240315{case.suffix}").write_bytes(case.build())
    store = RawStore(tmp_path / "raw")
    land_file_drops(landing, store, "enterprise")
    entry = store.last_attempts("enterprise")[f"{SOURCE_DIR}/110000_20240315{case.suffix}"]
    return store, entry


def query(store: RawStore, sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        refresh_raw_schema(con, store, families=["enterprise"])
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_corpus_has_at_least_30_classes_and_every_outcome():
    assert len(CASES) >= 30 and len({c.key for c in CASES}) == len(CASES)
    assert {c.outcome for c in CASES} == {corpus.REJECTED, corpus.QUARANTINED, corpus.FLAGGED, corpus.KEPT,
                                          corpus.DEDUPLICATED, corpus.BLOCKED}


def test_the_documented_table_is_rendered_from_the_corpus():
    doc = REPO_ROOT / "ingestion" / "BAD_INPUT.md"
    assert doc.read_text(encoding="utf-8") == corpus.render(), (
        "ingestion/BAD_INPUT.md is out of date: python -m tests.ingestion.bad_input_corpus > ingestion/BAD_INPUT.md")


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_each_bad_input_gets_its_documented_outcome(tmp_path: Path, case: Case):
    store, entry = land(tmp_path, case)
    source = entry["source"]
    landed = query(store, f"SELECT filing_id, name FROM raw.enterprise_files WHERE _source = '{source}'")
    quarantined = query(store, f"SELECT rule, reason FROM raw.quarantine WHERE _source = '{source}'")
    if case.outcome == corpus.REJECTED:
        assert entry["status"] == "rejected"
        assert case.expect in entry["message"] and source in entry["message"], entry["message"]
        assert not landed and not quarantined
        return
    assert entry["status"] == "landed", entry["message"]
    assert entry["rows_read"] == entry["rows_landed"] + entry["rows_quarantined"]
    assert len(landed) == case.records_landed, landed
    good = {f"BAD-2023-{n:05d}" for n in (1, 2)}
    if case.outcome == corpus.QUARANTINED:
        assert quarantined and all(rule == case.expect for rule, _ in quarantined), quarantined
        assert all(reason for _, reason in quarantined)
        if case.records_landed == 2:
            assert {f for f, _ in landed} == good  # the good records beside it landed
        return
    assert not quarantined, quarantined
    if case.outcome == corpus.FLAGGED:
        (code,) = query(store, "SELECT uscc FROM raw.enterprise_files WHERE filing_id = 'BAD-2023-00003'")[0]
        assert not checksum_ok(code)  # landed; dim_enterprise carries uscc_valid = false
    elif case.outcome in (corpus.BLOCKED, corpus.DEDUPLICATED):
        copies = query(store, "SELECT count(*), count(DISTINCT revenue) FROM raw.enterprise_files "
                              "WHERE filing_id = 'BAD-2023-00001'")[0]
        assert copies == ((2, 2) if case.outcome == corpus.BLOCKED else (2, 1))
    if case.key in KEPT_AS_DELIVERED:
        assert {name for f, name in landed if f == "BAD-2023-00003"} == {KEPT_AS_DELIVERED[case.key]}
    if case.key in LANDED_VALUES:
        assert query(store, LANDED_VALUES[case.key][0]) == LANDED_VALUES[case.key][1]


KEPT_AS_DELIVERED = {
    "csv_injection": "=cmd|'/C calc'!A0",
    "sql_in_text": "x'); DROP TABLE raw.quarantine; --",
    "html_in_text": "<script>alert('x')</script>",
    "quotes_and_newline": '北京"双引号"科技\n有限公司',
}
B3 = "FROM raw.enterprise_files WHERE filing_id = 'BAD-2023-00003'"
LANDED_VALUES = {
    "missing_markers": (f"SELECT employees, st_staff, revenue, listed {B3}", [(None, None, None, None)]),
    "thousands_separators": (f"SELECT CAST(revenue AS VARCHAR) {B3}", [("1234567.8900",)]),
    "missing_optional_column": ("SELECT count(*) FROM raw.enterprise_files WHERE listed IS NULL", [(2,)]),
    "padded_header": ("SELECT count(*) FROM raw.enterprise_files WHERE name LIKE '北京测试%'", [(2,)]),
    "mixed_line_ends": ("SELECT list(_row_number ORDER BY _row_number) FROM raw.enterprise_files", [([2, 3, 4],)]),
    "xlsx_ok": (f"SELECT CAST(revenue AS VARCHAR), established_on::VARCHAR, listed {B3}",
                [("56000.5000", "2015-06-01", False)]),
}


@pytest.mark.parametrize("key", ["bom_utf8", "gb18030", "header_only"])
def test_encodings_and_empty_deliveries_are_on_record(tmp_path: Path, key: str):
    case = next(c for c in CASES if c.key == key)
    _, entry = land(tmp_path, case)
    expected = {"bom_utf8": "utf-8-sig", "gb18030": "gb18030", "header_only": "utf-8"}[key]
    assert entry["encoding"] == expected and entry["rows_read"] == case.records_landed


def test_a_revision_delivered_again_with_other_content_blocks_publication(tmp_path: Path):
    from expectations.runner import validate_suites
    from expectations.suites import SUITES

    case = next(c for c in CASES if c.outcome == corpus.BLOCKED)
    store, _ = land(tmp_path, case)
    db = tmp_path / "build.duckdb"
    con = duckdb.connect(str(db))
    refresh_raw_schema(con, store)
    con.close()
    (result,) = validate_suites(db, [SUITES["raw_enterprise"]])
    assert not result.passed and result.blocking
    failed = {f.expectation: f for f in result.failures}
    assert set(failed) == {"one_content_per_revision"}, result.summary()
    assert "BAD-2023-00001" in str(failed["one_content_per_revision"].sample)
