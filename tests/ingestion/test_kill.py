"""A landing process killed with SIGKILL at an arbitrary moment loses nothing and duplicates nothing once re-run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.landing import RawStore, land_file_drops
from tests.support import RAW_FAMILIES, raw_keys

FAMILIES = RAW_FAMILIES
LAND_ALL = (
    "import sys; from pathlib import Path; from ingestion.landing import RawStore, land_file_drops\n"
    "store = RawStore(Path(sys.argv[2]))\n"
    f"for family in {FAMILIES!r}: land_file_drops(Path(sys.argv[1]), store, family, batch_rows=300)\n"
)



@pytest.fixture(scope="module")
def undisturbed(sample_landing: Path, tmp_path_factory) -> list[tuple]:
    store = RawStore(tmp_path_factory.mktemp("undisturbed") / "raw")
    for family in FAMILIES:
        land_file_drops(sample_landing, store, family)
    return raw_keys(store)


def written(store: RawStore) -> int:
    return sum(1 for _ in store.root.rglob("*.parquet"))


# Batches of 300 rows make the sample land in a few dozen commits (about 4 s here). Each case waits until some
# batches are written, then kills at once, wherever the process is: between commits or inside one.
@pytest.mark.parametrize("after_files", [1, 8, 20])
def test_a_killed_landing_converges_to_the_undisturbed_result(sample_landing: Path, undisturbed, tmp_path: Path, after_files):
    landing = tmp_path / "landing"
    shutil.copytree(sample_landing, landing)
    store = RawStore(tmp_path / "raw")
    process = subprocess.Popen([sys.executable, "-c", LAND_ALL, str(landing), str(store.root)])
    deadline = time.monotonic() + 120
    while written(store) < after_files and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the landing finished before the kill: the test proves nothing"
    assert written(store) >= after_files
    for family in FAMILIES:  # the next run
        land_file_drops(landing, store, family)
    keys = raw_keys(store)
    assert len(keys) == len(set(keys))  # nothing twice
    assert keys == undisturbed  # nothing lost
    for family in FAMILIES:
        for entry in store.ledger(family):
            if entry["status"] == "landed":
                assert entry["rows_read"] == entry["rows_landed"] + entry["rows_quarantined"]
