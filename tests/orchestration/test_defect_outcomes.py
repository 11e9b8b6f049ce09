"""Every defect the generator injected ends where the filing contract says, found by its file and line."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from ingestion.contracts import FAMILIES
from tests.support import PublishedSample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(published_sample: PublishedSample, sample_landing: Path) -> tuple[Path, list[dict]]:
    """The session's published sample and the generator's manifest of the defects it injected into it."""
    with (sample_landing.parent / "manifest" / "defects.csv").open(encoding="utf-8") as fh:
        return published_sample.home, list(csv.DictReader(fh))


def query(home: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_outcome_kind_is_exercised(pipeline):
    _, manifest = pipeline
    outcomes = {m["expected_outcome"] for m in manifest}
    assert outcomes >= {"quarantined", "flagged", "deduplicated", "rejected"}


def test_rejected_files_are_on_record_and_landed_nothing(pipeline):
    home, manifest = pipeline
    rejected = {r[0] for r in query(home, "SELECT source FROM raw.ingest_accounting WHERE status = 'rejected'")}
    files = {m["source"] for m in manifest if m["expected_outcome"] == "rejected" and not m["filing_id"]}
    assert files and files == rejected
    for family in FAMILIES:
        landed = {r[0] for r in query(home, f"SELECT DISTINCT _source FROM raw.{family}_files")}
        assert not landed & files


def test_quarantined_records_are_in_quarantine_with_their_rule(pipeline):
    home, manifest = pipeline
    quarantined = {(s, n): rule for s, n, rule in query(home, "SELECT _source, _row_number, rule FROM raw.quarantine")}
    expected = [m for m in manifest if m["expected_outcome"] == "quarantined" and m["channel"] == "files"]
    assert expected
    rule_of = {"uscc_charset": "uscc_format:", "unknown_region": "division_unknown:", "negative_amount": "range:",
               "st_staff_above_employees": "rule:st_staff_le_employees", "tech_amount_above_amount": "rule:tech_amount_le_amount"}
    for m in expected:
        rule = quarantined.get((m["source"], int(m["line"])))
        assert rule is not None, m
        assert rule.startswith(rule_of[m["defect"]]) or m["defect"] == "negative_amount" and rule.startswith("rule:"), (m, rule)


def test_flagged_records_are_published_with_their_flag(pipeline):
    home, manifest = pipeline
    flagged = [m for m in manifest if m["expected_outcome"] == "flagged" and m["family"] == "enterprise"]
    assert flagged
    published = {
        filing: (valid, suspect)
        for filing, valid, suspect in query(
            home,
            "SELECT f.filing_id, d.uscc_valid, f.amount_unit_suspect FROM analytics.fct_enterprise_annual f "
            "JOIN analytics.dim_enterprise d USING (enterprise_key)",
        )
    }
    latest_revision = dict(query(home, "SELECT filing_id, revision FROM analytics.fct_enterprise_annual"))
    for m in flagged:
        if latest_revision.get(m["filing_id"]) != int(m["revision"]):
            continue  # a later revision of the filing replaced the flagged one
        valid, suspect = published[m["filing_id"]]
        if m["defect"] in ("uscc_checksum", "pilot_code"):
            assert valid is False, m
        else:
            assert m["defect"] == "yuan_as_thousand" and suspect is True, m
    carriers = [m for m in manifest if m["expected_outcome"] == "flagged" and m["family"] == "incubator"]
    landed = {(s, n) for s, n in query(home, "SELECT _source, _row_number FROM raw.incubator_files")}
    assert all((m["source"], int(m["line"])) in landed for m in carriers)  # kept (dim_carrier flags them: issue 5)


def test_duplicated_records_land_twice_and_publish_once(pipeline):
    home, manifest = pipeline
    duplicated = [m for m in manifest if m["expected_outcome"] == "deduplicated"]
    assert duplicated
    rejected = {m["source"] for m in manifest if m["expected_outcome"] == "rejected" and not m["filing_id"]}
    for m in duplicated:
        family = m["family"]
        copies = query(home, f"SELECT count(*) FROM raw.{family}_files WHERE filing_id = '{m['filing_id']}' "
                             f"AND revision = {int(m['revision'])}")[0][0]
        # Both deliveries land, unless the original came in a file that was rejected whole.
        original_lost = any(o["filing_id"] == m["filing_id"] and o["source"] in rejected for o in manifest)
        assert copies >= 2 or (copies == 1 and original_lost), m
        downstream = "analytics.fct_enterprise_annual" if family == "enterprise" else f"intermediate.int_{family}__latest_filings"
        assert query(home, f"SELECT count(*) FROM {downstream} WHERE filing_id = '{m['filing_id']}'")[0][0] == 1, m


def test_falling_year_to_date_reports_are_published_flagged_and_warned(pipeline, published_sample: PublishedSample):
    home, manifest = pipeline
    injected = {m["filing_id"] for m in manifest if m["defect"] == "ytd_decreased" and m["expected_outcome"] == "flagged"}
    assert injected
    flagged = query(home, "SELECT filing_id, ytd_decreased_measures FROM analytics.fct_quarterly_report WHERE ytd_decreased")
    assert {f for f, _ in flagged} == injected
    assert {measures for _, measures in flagged} == {"revenue_ytd"}
    # The warning (never blocking) names every one of them in the run's report; publication went ahead.
    report = published_sample.run.stdout
    warnings = report[report.index("warnings (reported, not blocking)"):]
    assert "ytd_not_decreasing: %d unexpected rows" % len(injected) in warnings
    assert all(f"'filing_id': '{f}'" in warnings for f in injected)
    assert "PUBLISHED" in report
