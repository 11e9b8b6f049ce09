"""One writer per NDC_HOME: a run holds an exclusive lock on `$NDC_HOME/run.lock` from start to end.

The lock is an advisory `flock` on an open file, so the kernel releases it whenever the holder's process ends,
normally or killed with SIGKILL: a dead run never leaves a stale lock behind. The file's text says who holds it,
for the message the second run prints.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

LOCK_NAME = "run.lock"


class RunLocked(RuntimeError):
    """Another run holds the lock of this NDC_HOME."""


class RunLock:
    """Held from construction until `release()` or the end of the process."""

    def __init__(self, home: Path):
        self.path = Path(home) / LOCK_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 300, 0).decode("utf-8", "replace").strip() or "a process"
            self.release()
            raise RunLocked(
                f"another run is writing to {home} ({holder}) and holds {self.path}: two runs must not write at "
                "once. Wait for it to finish and run again; a run that died has released the lock already."
            ) from None
        os.ftruncate(self._fd, 0)
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        os.pwrite(self._fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
