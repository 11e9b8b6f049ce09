"""One writer per NDC_HOME: a run holds an exclusive lock on `$NDC_HOME/run.lock` from start to end.

Every way a run starts takes it: `ndc run` before it loads Dagster, and every Dagster run that writes (the schedule,
the sensors, the UI, `dagster job execute`) through the `run_lock` resource, which the in-process executor sets up
once before the first step and tears down after the last. So two runs never interleave, whatever started them.

The lock is an advisory `flock` on an open file, so the kernel releases it whenever the holder's process ends,
normally or killed with SIGKILL: a dead run never leaves a stale lock behind. The file's text says who holds it,
for the message the second run prints.

It is re-entrant within a process: `ndc run` holds it and then executes the job in-process, whose resource takes it
again. A flock alone would refuse that second open (locks belong to open files, not processes) and deadlock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

LOCK_NAME = "run.lock"
POLL_S = 0.5

# Locks this process holds: (pid, lock file) -> [descriptor, holds]. The pid keeps a forked child from believing it
# holds its parent's lock.
_HELD: dict[tuple[int, Path], list[int]] = {}
_HELD_GUARD = threading.Lock()


class RunLocked(RuntimeError):
    """Another run holds the lock of this NDC_HOME."""


class RunLock:
    """Held from construction until `release()` (or the end of the `with` block, or of the process).

    `by` says what started the run (`ndc run`, the schedule …), for the message a second run prints. A second
    run waits up to `wait_s` seconds for the lock, calling `on_wait(holder)` once when it starts waiting, then
    raises RunLocked naming the holder."""

    def __init__(self, home: Path, by: str = "a process", wait_s: float = 0.0,
                 on_wait: Callable[[str], None] | None = None):
        self.path = Path(home) / LOCK_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key: tuple[int, Path] | None = (os.getpid(), self.path.resolve())
        with _HELD_GUARD:
            held = _HELD.get(self._key)
            if held is not None:
                held[1] += 1
                return
        fd = _acquire(self.path, Path(home), by, wait_s, on_wait)
        with _HELD_GUARD:
            _HELD[self._key] = [fd, 1]

    def release(self) -> None:
        if self._key is None:
            return
        with _HELD_GUARD:
            held = _HELD[self._key]
            held[1] -= 1
            if held[1] == 0:
                del _HELD[self._key]
                os.close(held[0])  # closing the descriptor releases the flock
        self._key = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _acquire(path: Path, home: Path, by: str, wait_s: float, on_wait: Callable[[str], None] | None) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _wait_for(fd, path, home, wait_s, on_wait)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    os.pwrite(fd, f"pid {os.getpid()}, started {started}, by {by}\n".encode(), 0)
    return fd


def _wait_for(fd: int, path: Path, home: Path, wait_s: float, on_wait: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "a process"
        if time.monotonic() >= deadline:
            waited = f" (waited {wait_s:.0f} s)" if wait_s else ""
            raise RunLocked(
                f"another run is writing to {home} ({holder}) and holds {path}{waited}: two runs must not write at "
                "once. Wait for it to finish and run again; a run that died has released the lock already."
            )
        if on_wait and not told:
            on_wait(holder)
            told = True
        time.sleep(POLL_S)
