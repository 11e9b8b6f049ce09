"""Two runs on one NDC_HOME cannot both write: the second is refused with a message naming the holder, and a run
killed with SIGKILL leaves no stale lock. (`ndc run` itself: test_kill_run.py starts a second run beside one.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.landing import RawStore, land_file_drops
from orchestration.resources import run_origin
from orchestration.settings import REPO_ROOT
from tests.support import NDC, RAW_FAMILIES, raw_keys, run_ndc
from warehouse.run_lock import RunLock, RunLocked

HOLD = "import sys, time; from warehouse.run_lock import RunLock; RunLock(sys.argv[1]); print('held', flush=True); time.sleep(60)"


def hold_elsewhere(home: Path) -> subprocess.Popen:
    """Another process holding the lock of `home` until it is stopped."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def stop(holder: subprocess.Popen) -> None:
    """Kill the holder as a crash would, waiting generously: on a loaded machine its exit can take seconds."""
    holder.kill()
    holder.wait(timeout=120)


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path):
    holder = hold_elsewhere(tmp_path)
    with pytest.raises(RunLocked, match=rf"another run is writing to .* \(pid {holder.pid}, started .*\)") as refused:
        RunLock(tmp_path)
    assert "run.lock" in str(refused.value) and "Wait for it to finish" in str(refused.value)
    stop(holder)
    RunLock(tmp_path).release()  # free again once the first is done


def test_a_second_writer_waits_a_bounded_time_saying_for_whom(tmp_path: Path):
    holder = hold_elsewhere(tmp_path)
    told = []
    started = time.monotonic()
    with pytest.raises(RunLocked, match=r"waited 1 s"):
        RunLock(tmp_path, wait_s=1, on_wait=told.append)
    assert time.monotonic() - started >= 1
    assert told and f"pid {holder.pid}" in told[0]
    stop(holder)


def test_the_lock_is_reentrant_within_a_process_and_held_until_the_last_release(tmp_path: Path):
    """`ndc run` holds it, then the job it executes in-process takes it again: no deadlock, and no gap."""
    outer = RunLock(tmp_path, by="ndc run")
    with RunLock(tmp_path, by="the job"):
        pass
    probe = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(60)", "pass"), str(tmp_path)],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "by ndc run" in probe.stderr  # still held by the outer holder
    outer.release()
    RunLock(tmp_path).release()


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path):
    holder = hold_elsewhere(tmp_path)
    with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
        RunLock(tmp_path)
    stop(holder)
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the lock with the process
        try:
            RunLock(tmp_path).release()
            break
        except RunLocked:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_the_holder_says_what_started_it():
    assert run_origin({"ndc/trigger": "cli"}) == "ndc run"
    assert run_origin({"dagster/schedule_name": "nightly_refresh"}) == "the schedule nightly_refresh"
    assert run_origin({"dagster/sensor_name": "landing_sensor"}) == "the sensor landing_sensor"
    assert run_origin({}) == "the Dagster UI or `dagster job execute`"


DAGSTER = Path(sys.executable).parent / "dagster"


def a_few_deliveries(landing: Path, to: Path, per_folder: int = 8) -> Path:
    """The first deliveries of each family and year of `landing`: enough for both runs to land something, and a
    run short enough to be cheap, which still holds the lock far longer than the landing job needs to start."""
    for folder in sorted(p for p in landing.glob("*/*") if p.is_dir()):
        (to / folder.relative_to(landing)).mkdir(parents=True)
        for delivery in sorted(folder.iterdir())[:per_folder]:
            shutil.copy2(delivery, to / delivery.relative_to(landing))
    return to


def test_a_dagster_landing_beside_ndc_run_waits_and_lands_nothing_twice(sample_landing: Path, tmp_path: Path):
    """The incident: a landing run the sensor, the schedule or the UI started while `ndc run` ran landed the same
    files again. Here the real `dagster job execute` starts as soon as `ndc run` holds the lock."""
    ndc_home, landing = tmp_path / "ndc", a_few_deliveries(sample_landing, tmp_path / "landing")
    shutil.copytree(landing, ndc_home / "landing")
    env = {**os.environ, "NDC_HOME": str(ndc_home), "DAGSTER_HOME": str(ndc_home / "dagster")}
    (ndc_home / "dagster").mkdir(parents=True)
    cli = subprocess.Popen([str(NDC), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = ndc_home / "run.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and f"pid {cli.pid}" in lock.read_text()):  # reading never takes the lock
        assert cli.poll() is None and time.monotonic() < deadline, "`ndc run` did not take the lock"
        time.sleep(0.05)
    land = subprocess.run([str(DAGSTER), "job", "execute", "-m", "orchestration.definitions", "-j", "ndc_land"],
                          env=env, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    cli_out, cli_err = cli.communicate(timeout=600)

    assert cli.returncode == 0, cli_out + cli_err[-3000:]
    # The second writer waited for the first and said for whom; then it found nothing left to land.
    assert f"pid {cli.pid}" in land.stderr and "by ndc run" in land.stderr, land.stderr[-3000:]
    assert land.returncode == 0, land.stderr[-3000:]
    keys = raw_keys(RawStore(ndc_home / "raw"))
    assert len(keys) == len(set(keys)), "rows landed twice"
    undisturbed = RawStore(tmp_path / "undisturbed")
    for family in RAW_FAMILIES:
        land_file_drops(landing, undisturbed, family)
    assert keys == raw_keys(undisturbed)

    # The landing that found nothing left wrote nothing: the next run has nothing to build either.
    again = run_ndc(ndc_home, "run")
    assert again.returncode == 0 and again.stdout.startswith("NOTHING NEW"), again.stdout + again.stderr[-3000:]
