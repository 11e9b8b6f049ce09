"""The machine failing a run (a full disk outside raw, a read-only NDC_HOME, a corrupt build database) is told apart
from a blocked gate: exit 4 and one line on stderr saying what failed and what to do. And a temporary serving file
a killed publication left behind is removed by the next run.

The full disk and the read-only home are real: a tmpfs and a read-only bind mount in a user and mount namespace
(`unshare -rm`, as tests/reliability/test_disk_full.py does), which also holds when the tests run as root, whom a
chmod would not stop. Where namespaces are not allowed those two are skipped.
"""

from __future__ import annotations

import os
import random
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.reliability.test_disk_full import namespaces_allowed
from tests.support import NDC, CorrectedYear, PublishedSample, run_ndc, sha256

EXIT_ENVIRONMENT = 4

needs_namespaces = pytest.mark.skipif(not namespaces_allowed(), reason="needs `unshare -rm` (user namespaces)")


def failure_line(run: subprocess.CompletedProcess[str]) -> str:
    """The one line `ndc run` says about the failure: the last on stderr, and the only one of its own."""
    own = [line for line in run.stderr.splitlines() if line.startswith("ndc run: ")]
    assert len(own) == 1, run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1] == own[0]
    return own[0]


def run_in_namespace(home: Path, setup: str) -> subprocess.CompletedProcess[str]:
    """`ndc run` on `home` in a user and mount namespace, after the shell commands `setup` changed its mounts."""
    script = f"{setup} && exec {shlex.quote(str(NDC))} run"
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], env={**os.environ, "NDC_HOME": str(home)},
                          capture_output=True, text=True, timeout=600)


def test_a_corrupt_build_database_is_an_environment_failure(published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    build, serving = home / "warehouse" / "build.duckdb", home / "warehouse" / "serving.duckdb"
    build.write_bytes(random.Random(3).randbytes(300_000))
    published = sha256(serving)

    run = run_ndc(home, "run")

    assert run.returncode == EXIT_ENVIRONMENT, run.stdout + run.stderr[-3000:]
    line = failure_line(run)
    assert f"{build} is corrupt" in line and "move the file aside and run `ndc run --full-refresh`" in line, line
    assert sha256(serving) == published


@needs_namespaces
def test_a_read_only_home_is_an_environment_failure(published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    q = shlex.quote(str(home))
    run = run_in_namespace(home, f"mount --bind {q} {q} && mount -o remount,bind,ro {q}")

    assert run.returncode == EXIT_ENVIRONMENT, run.stdout + run.stderr[-3000:]
    assert run.stderr.strip().count("\n") == 0, run.stderr  # nothing else: it stops before Dagster starts
    line = failure_line(run)
    assert f"cannot write {home}" in line and "Read-only file system" in line and "writable" in line, line


@needs_namespaces
def test_a_full_warehouse_disk_is_an_environment_failure(published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    warehouse, saved = home / "warehouse", tmp_path / "saved"
    # Room for what is there and little more: the run's first writes to the build database fill it.
    size = sum(p.stat().st_size for p in warehouse.rglob("*") if p.is_file()) + 256 * 1024
    w, s = shlex.quote(str(warehouse)), shlex.quote(str(saved))
    run = run_in_namespace(home, f"cp -a {w} {s} && mount -t tmpfs -o size={size} tmpfs {w} && cp -a {s}/. {w}/")

    assert run.returncode == EXIT_ENVIRONMENT, run.stdout + run.stderr[-3000:]
    line = failure_line(run)
    assert f"the disk is full writing {warehouse}" in line and "free space" in line, line


def test_a_killed_publications_temporary_file_is_removed_by_the_next_run(corrected_sample: CorrectedYear):
    # The scenario planted `.serving.duckdb.<id>.tmp` and its `.wal` before its first run.
    run = corrected_sample.other_year
    assert run.returncode == 0 and "PUBLISHED" in run.stdout, run.stdout + run.stderr[-3000:]
    assert corrected_sample.warehouse_after_other_year == ["build.duckdb", "serving.duckdb"]
