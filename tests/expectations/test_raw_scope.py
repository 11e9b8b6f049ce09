"""The raw gate judges the deliveries landed since it last passed, and still catches what they break across
deliveries; anything that could make an earlier verdict stale makes it judge every delivery again
(expectations/raw_scope.py).

The warehouse is a copy of the session's `published_sample`, whose `ndc run` passed the raw gate over every
delivery. New deliveries are planted as landed Parquet beside the others, as landing writes them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expectations import raw_scope
from expectations.runner import validate_suites
from expectations.suites import for_stage
from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore, refresh_raw_schema

NEW_SOURCE = "f" * 64  # the planted delivery's content hash


@pytest.fixture
def home(published_sample, tmp_path: Path) -> Path:
    return published_sample.copy_to(tmp_path / "ndc")


def landed(home: Path, family: str) -> list[Path]:
    return sorted((home / "raw" / family).glob("*/files__*.parquet"))


def plant(home: Path, family: str, rows: pa.Table, name: str = "files__later_delivery.parquet") -> str:
    """Land `rows` (a slice of a landed file, changed) as a new delivery of `family`, and point the build
    database's raw views at every landed file again, as landing does. Returns the file's raw path."""
    period = rows.column("period")[0].as_py()
    target = home / "raw" / family / str(period) / name
    rows = rows.set_column(rows.schema.get_field_index("_source_sha256"), "_source_sha256",
                           pa.array([NEW_SOURCE] * len(rows), rows.schema.field("_source_sha256").type))
    rows = rows.set_column(rows.schema.get_field_index("_source"), "_source",
                           pa.array([f"landing/{name}.csv"] * len(rows), rows.schema.field("_source").type))
    pq.write_table(rows, target)
    with duckdb.connect(str(home / "warehouse" / "build.duckdb")) as con:
        refresh_raw_schema(con, RawStore(home / "raw"))
    return target.relative_to(home / "raw").as_posix()


def replaced(table: pa.Table, column: str, values: list) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column,
                            pa.array(values, table.schema.field(column).type))


def judge(home: Path, every_delivery: bool = False) -> tuple[raw_scope.RawScope, dict]:
    """One raw gate as the gate step runs it: take the record, judge, record the families that passed."""
    suites = for_stage("raw")
    scope = raw_scope.begin(home / "raw", home / "quality", list(FAMILIES), every_delivery)
    judged = scope.suites(suites)
    results = validate_suites(home / "warehouse" / "build.duckdb", judged)
    raw_scope.finish(scope, home / "quality", raw_scope.passed_families(results, judged))
    return scope, {r.suite: r for r in results}


def failed_rules(result) -> set[str]:
    return {f.expectation for f in result.failures}


def test_a_passing_run_records_what_its_raw_gate_judged(published_sample):
    record = json.loads((published_sample.home / "quality" / raw_scope.RECORD).read_text(encoding="utf-8"))
    assert record["rules"] == raw_scope.rules_digest()
    for family in FAMILIES:
        files = raw_scope.landed_files(published_sample.home / "raw", family)
        assert {name: tuple(stamp) for name, stamp in record["families"][family].items()} == files
    output = published_sample.run.stdout + published_sample.run.stderr
    assert "enterprise: every delivery (no passing gate recorded)" in output


def test_only_the_new_delivery_is_judged_and_its_conflict_with_an_earlier_one_blocks(home: Path):
    earlier = pq.read_table(landed(home, "enterprise")[0]).slice(0, 2)
    # The same filing and revision as an earlier delivery, another revenue; and an unknown high-tech field.
    conflict = replaced(earlier, "revenue", [(earlier.column("revenue")[0].as_py() or 0) + 1, None])
    conflict = replaced(conflict, "tech_field", [earlier.column("tech_field")[0].as_py(), "区块链"])
    conflict = replaced(conflict, "filing_id", [earlier.column("filing_id")[0].as_py(), "PLANTED-NEW-FILING"])
    planted = plant(home, "enterprise", conflict)

    scope, results = judge(home)
    enterprise = scope.families["enterprise"]
    assert enterprise.new == [planted] and enterprise.paths == [home / "raw" / planted]
    assert "the 1 file(s) landed since the last passing gate" in enterprise.describe()
    (suite,) = [s for s in scope.suites(for_stage("raw")) if s.name == "raw_enterprise"]
    with duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM ({suite.batch})").fetchone() == (2,)  # the new rows only
    assert suite.reads == ("raw.enterprise_files", "raw.enterprise_api")  # where a failure's deliveries are found
    result = results["raw_enterprise"]
    assert not result.passed
    assert {"one_content_per_revision", "tech_field_in_ref_tech_fields"} <= failed_rules(result)
    # The run's report names the deliveries holding the failing rows, the new one among them.
    assert "landing/files__later_delivery.parquet.csv" in {d.source for d in result.deliveries}
    # The other families had nothing new: nothing to judge row by row, and they passed.
    assert scope.families["contract"].new == [] and results["raw_contract"].passed

    # The failed family is not vouched for any more: the next gate judges all of it, and blocks again.
    again, results = judge(home)
    assert again.families["enterprise"].new is None
    assert again.families["enterprise"].why_whole == "no passing gate recorded for the family"
    assert not results["raw_enterprise"].passed
    assert again.families["contract"].new == []


def test_new_enterprises_beyond_a_zones_report_block_the_zone_that_got_no_new_report(home: Path):
    with duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True) as con:
        zone, period, reported = con.execute(
            "SELECT zone_code, period, max(enterprises) FROM (SELECT zone_code, period, enterprises FROM "
            "raw.zone_files UNION ALL SELECT zone_code, period, enterprises FROM raw.zone_api) zones "
            "GROUP BY ALL ORDER BY ALL LIMIT 1"
        ).fetchone()
    source = next(p for p in landed(home, "enterprise") if str(period) == p.parent.name)
    one = pq.read_table(source).slice(0, 1)
    n = reported + 10
    firms = pa.concat_tables([one] * n)
    firms = replaced(firms, "filing_id", [f"PLANTED-{i}" for i in range(n)])
    firms = replaced(firms, "uscc", [f"91110000{i:010d}" for i in range(n)])
    firms = replaced(firms, "zone_code", [zone] * n)
    plant(home, "enterprise", firms)

    scope, results = judge(home)
    assert scope.families["zone"].new == []
    assert "zone_report_covers_its_enterprises" in failed_rules(results["raw_zone"])


def test_a_replaced_delivery_a_rules_change_or_a_full_refresh_judges_every_delivery(home: Path):
    scope, results = judge(home)  # nothing new: every family scoped to nothing, and passing
    assert all(s.new == [] for s in scope.families.values()), scope.describe()
    assert all(r.passed for r in results.values() if r.blocking)

    victim = landed(home, "contract")[0]
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 1_000_000_000))
    scope, _ = judge(home)
    assert scope.families["contract"].why_whole == "a delivery judged before was replaced or removed"
    assert scope.families["enterprise"].new == []

    record = home / "quality" / raw_scope.RECORD
    kept = json.loads(record.read_text(encoding="utf-8"))
    record.write_text(json.dumps({**kept, "rules": "an earlier gate's rules"}), encoding="utf-8")
    scope, _ = judge(home)
    assert {s.why_whole for s in scope.families.values()} == {"the rules changed since the last passing gate"}

    scope, _ = judge(home, every_delivery=True)
    assert {s.why_whole for s in scope.families.values()} == {"asked for"}
    assert record.exists()  # a whole judgment that passed is recorded too


def test_a_routine_run_judges_what_landed_since_and_all_of_a_family_whose_delivery_changed(blocked_sample):
    """The blocked scenario's run: one enterprise report delivered again (new), one landed contract record gone
    (its file changed)."""
    output = blocked_sample.run.stdout + blocked_sample.run.stderr
    assert "enterprise: the 1 file(s) landed since the last passing gate" in output
    assert "contract: every delivery (a delivery judged before was replaced or removed)" in output
    assert "zone: the 0 file(s) landed since the last passing gate" in output
