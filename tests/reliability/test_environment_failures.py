"""A temporary serving file a killed publication left behind is removed by the next run."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.support import PublishedSample, run_ndc


def test_a_killed_publications_temporary_file_is_removed_by_the_next_run(published_sample: PublishedSample,
                                                                         tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    leftover = home / "warehouse" / f".serving.duckdb.{uuid.uuid4().hex}.tmp"
    leftover.write_bytes(b"half a serving file")
    leftover.with_name(leftover.name + ".wal").write_bytes(b"and its log")

    run = run_ndc(home, "run")

    assert run.returncode == 0 and "PUBLISHED" in run.stdout, run.stdout + run.stderr[-3000:]
    assert sorted(p.name for p in (home / "warehouse").iterdir()) == ["build.duckdb", "serving.duckdb"]
