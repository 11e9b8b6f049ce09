"""The raw layer's disk filling up while landing: a clear error naming the disk and what to do, nothing
acknowledged that was not written, and once space is freed the next run lands everything exactly once.

The disk is a real tmpfs a few hundred kB in size, mounted in a user and mount namespace (`unshare -rm`, no root
needed) and grown with `mount -o remount` once full. Where namespaces are not allowed the test falls back to the
process's file-size limit (RLIMIT_FSIZE), which fails writes with EFBIG the same way.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.landing import RawStore, land_file_drops
from orchestration.settings import REPO_ROOT
from tests.support import RAW_FAMILIES as FAMILIES
from tests.support import raw_keys

SCENARIO = [sys.executable, "-m", "tests.reliability.disk_full_scenario"]


def namespaces_allowed() -> bool:
    if os.environ.get("NDC_TEST_DISK") == "fsize":  # force the fallback, to test it
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False) if shutil.which("unshare") else None
    return probe is not None and probe.returncode == 0


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def undisturbed(sample_landing: Path, tmp_path_factory) -> tuple[list, int]:
    store = RawStore(tmp_path_factory.mktemp("undisturbed") / "raw")
    for family in FAMILIES:
        land_file_drops(sample_landing, store, family, batch_rows=300)
    size = sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file())
    return json.loads(json.dumps(raw_keys(store), default=str)), size


def test_a_full_raw_disk_is_a_clear_error_and_loses_nothing(sample_landing: Path, undisturbed, tmp_path: Path):
    keys, size = undisturbed
    raw = tmp_path / "raw"
    raw.mkdir()
    small = size // 3  # fills up a third of the way through
    if namespaces_allowed():
        q = shlex.quote
        script = (
            f"mount -t tmpfs -o size={small} tmpfs {q(str(raw))} && "
            f"{shlex.join(SCENARIO)} fill {q(str(sample_landing))} {q(str(raw))} && "
            f"mount -o remount,size={size * 4} {q(str(raw))} && "
            f"{shlex.join(SCENARIO)} finish {q(str(sample_landing))} {q(str(raw))}"
        )
        done = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=False, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        fill, finish = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    else:
        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (small // 8, small // 8))

        run = [*SCENARIO, "fill", str(sample_landing), str(raw)]
        fill = last_json(subprocess.run(run, cwd=REPO_ROOT, capture_output=True, text=True, preexec_fn=limit,
                                        check=False, timeout=600).stdout)
        run[len(SCENARIO)] = "finish"
        finish = last_json(subprocess.run(run, cwd=REPO_ROOT, capture_output=True, text=True, check=False,
                                          timeout=600).stdout)

    assert fill["error"], "the landing finished: the disk was not small enough to prove anything"
    assert fill["type"] == "RawDiskFull", fill
    message = fill["error"]
    assert "disk is full" in message and str(raw) in message and "run again" in message, message
    assert finish["keys"] == keys  # nothing lost, nothing twice
