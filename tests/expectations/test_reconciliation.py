"""Reconciliation: after a run every record delivered is accounted for, as published, superseded by a later
revision of its filing, or quarantined (files rejected whole are on record with their reason). A record that goes
missing anywhere between the delivered file and the published fact fails the run.

The chain: the ledger's rows read = landed + quarantined (dbt test `rows_read_are_accounted_for`); the ledger's
landed and quarantined counts = the rows raw holds (`ledger_agrees_with_raw`); every landed row is published at its
revision or superseded (`every_landed_record_published_or_superseded`). The last two are in `gx_ingest_accounting`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from expectations.published import PUBLISHED_FACTS
from expectations.runner import GateSession
from expectations.suites import SUITES
from ingestion.contracts import FAMILIES
from tests.support import BlockedRun, PublishedSample

RULE = "every_landed_record_published_or_superseded"


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        landed = sum(con.execute(f"SELECT count(*) FROM raw.{f}_{c}").fetchone()[0]
                     for f in FAMILIES for c in ("files", "api"))
        quarantined = con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0]
        read = con.execute("SELECT sum(rows_read) FROM ops.ingest_accounting WHERE is_current").fetchone()[0]
        rejected = con.execute("SELECT count(*) FROM ops.ingest_accounting WHERE status = 'rejected'").fetchone()[0]
        published = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in PUBLISHED_FACTS.values())
    finally:
        con.close()
    return {"read": read, "landed": landed, "quarantined": quarantined, "rejected_files": rejected,
            "published": published}


def test_after_a_run_every_record_read_is_landed_or_quarantined_and_every_landed_one_published(
        published_sample: PublishedSample):
    figures = counts(published_sample.settings.build_db)
    print(f"\nrecords accounted for: {figures}")
    assert figures["read"] == figures["landed"] + figures["quarantined"]
    assert figures["quarantined"] > 0 and figures["rejected_files"] > 0  # the sample's defects are in the count
    # Published rows are fewer than landed ones only by revisions superseded and identical re-deliveries.
    assert 0 < figures["published"] < figures["landed"]
    with GateSession(published_sample.settings.build_db) as session:
        result = session.validate(SUITES["ingest_accounting"])
    assert result.passed, result.summary()


def break_and_validate(published_sample: PublishedSample, tmp_path: Path, *statements: str):
    broken = tmp_path / "build.duckdb"
    shutil.copyfile(published_sample.settings.build_db, broken)
    con = duckdb.connect(str(broken))
    for statement in statements:
        con.execute(statement)
    con.close()
    with GateSession(broken) as session:
        return session.validate(SUITES["ingest_accounting"])


def test_a_record_lost_between_raw_and_the_published_fact_fails_the_gate(published_sample, tmp_path: Path):
    (filing,) = duckdb.connect(str(published_sample.settings.build_db), read_only=True).execute(
        "SELECT filing_id FROM analytics.fct_tech_contract ORDER BY filing_id LIMIT 1").fetchone()
    result = break_and_validate(published_sample, tmp_path,
                                f"DELETE FROM analytics.fct_tech_contract WHERE filing_id = '{filing}'")
    assert not result.passed and result.blocking
    failure = {f.expectation: f for f in result.failures}[RULE]
    assert failure.unexpected_count >= 1 and filing in str(failure.sample)


def test_a_fact_left_at_an_older_revision_fails_the_gate(published_sample, tmp_path: Path):
    result = break_and_validate(
        published_sample, tmp_path,
        "UPDATE analytics.fct_enterprise_annual SET revision = revision - 1 WHERE filing_id = "
        "(SELECT max(filing_id) FROM analytics.fct_enterprise_annual WHERE revision > 1)")
    assert RULE in {f.expectation for f in result.failures}, result.summary()


def test_a_record_vanishing_from_raw_after_landing_fails_the_run_and_publishes_nothing(blocked_sample: BlockedRun):
    # One landed contract record was taken out of its raw Parquet file before the blocked run.
    result = blocked_sample.run
    assert result.returncode == 1, result.stdout
    assert "ledger_agrees_with_raw" in result.stdout
    assert blocked_sample.serving_after == blocked_sample.serving_before
