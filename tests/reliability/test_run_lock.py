"""Two runs on one NDC_HOME cannot both write: the second is refused with a message naming the holder, and a run
killed with SIGKILL leaves no stale lock. (`ndc run` itself: test_kill_run.py starts a second run beside one.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse.run_lock import RunLock, RunLocked

HOLD = "import sys, time; from warehouse.run_lock import RunLock; RunLock(sys.argv[1]); print('held', flush=True); time.sleep(60)"


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path):
    first = RunLock(tmp_path)
    with pytest.raises(RunLocked, match=r"another run is writing to .* \(pid \d+, started .*\)") as refused:
        RunLock(tmp_path)
    assert "run.lock" in str(refused.value) and "Wait for it to finish" in str(refused.value)
    first.release()
    RunLock(tmp_path).release()  # free again once the first is done


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
        RunLock(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the lock with the process
        try:
            RunLock(tmp_path).release()
            break
        except RunLocked:
            assert time.monotonic() < deadline
            time.sleep(0.05)
