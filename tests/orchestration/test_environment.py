"""Which run errors are the machine's (exit 4) and which are not: the wording `ndc run` recognises."""

from __future__ import annotations

from pathlib import Path

from orchestration.environment import diagnose

HOME = Path("/srv/ndc")


def test_the_file_named_nearest_the_failure_is_the_one_reported():
    text = ("step raw__zone_files: Error occurred while executing op\n    IO Error: Could not write file "
            '"/srv/ndc/warehouse/build.duckdb": No space left on device')
    failure = diagnose(text, HOME)
    assert failure.line().startswith("ndc run: the disk is full writing /srv/ndc/warehouse/build.duckdb")


def test_a_database_grant_or_a_blocked_gate_is_not_the_machines_failure():
    assert diagnose('step published__serving_postgres: permission denied for schema analytics', HOME) is None
    assert diagnose("step gates_published: a blocking check failed", HOME) is None
    assert diagnose("", HOME) is None


def test_a_corrupt_file_without_a_name_points_at_the_warehouse():
    failure = diagnose("IO Error: Corrupt database file: computed checksum 1 does not match stored checksum 2", HOME)
    assert "/srv/ndc/warehouse" in failure.what and "--full-refresh" in failure.todo
