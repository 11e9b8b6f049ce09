"""A child process timed from start to exit, with the resident memory of its whole tree sampled meanwhile.

The pipeline's memory is the sum over its process tree (the Dagster run and the `dbt` process it starts), so the
peak is taken over that sum, sampled every SAMPLE_S seconds; a peak shorter than that can be missed. The kernel's
own high-water mark of the largest single process (`ru_maxrss` of the children) is reported next to it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psutil

SAMPLE_S = 0.1
MIB = 1024 * 1024


@dataclass
class ChildRun:
    args: list[str]
    returncode: int
    wall_s: float
    started_at: float  # epoch seconds, to place samples against the child's own step times
    stdout: str
    stderr: str
    peak_rss_mib: float  # of the process tree, sampled
    max_single_rss_mib: float  # the largest single process in the tree, from the kernel
    samples: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, tree RSS MiB)

    def peak_between(self, start: float, end: float) -> float | None:
        """The sampled peak of the tree's RSS between two epoch times, or None when no sample fell inside."""
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside) if inside else None

    def check(self) -> ChildRun:
        if self.returncode != 0:
            raise RuntimeError(
                f"{' '.join(self.args)} exited {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n"
                f"--- stderr\n{self.stderr[-4000:]}"
            )
        return self


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None,
                 timeout_s: float | None = None) -> ChildRun:
    """Run `args` to completion; its output is captured (in files, so a chatty child never blocks on a pipe)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    samples: list[tuple[float, float]] = []
    with open(os.devnull, "rb") as stdin, _Capture() as out, _Capture() as err:
        started_at = time.time()
        started = time.perf_counter()
        child = subprocess.Popen(list(args), env=dict(env), cwd=cwd, stdin=stdin, stdout=out.fh, stderr=err.fh)
        proc = psutil.Process(child.pid)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.time(), _tree_rss(proc) / MIB))
                done.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            returncode = child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            returncode = child.wait()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        stdout, stderr = out.text(), err.text()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return ChildRun(
        args=list(args), returncode=returncode, wall_s=wall, started_at=started_at, stdout=stdout, stderr=stderr,
        peak_rss_mib=max((rss for _, rss in samples), default=0.0),
        # The high-water mark covers every child so far; it says something about this one only when it rose.
        max_single_rss_mib=after / 1024 if after > before else 0.0,
        samples=samples,
    )


class _Capture:
    def __enter__(self) -> Self:
        self.fh = tempfile.TemporaryFile()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()

    def text(self) -> str:
        self.fh.seek(0)
        return self.fh.read().decode("utf-8", errors="replace")
