"""What each test costs in CPU, for finding where a CPU-bound suite's time goes (wall time, `--durations`, hides
what two cores share): with NDC_TEST_CPU_REPORT=<file>, each test appends one JSON line to the file with its node id,
worker, wall seconds and CPU seconds (user + system) of the worker and of every process it waited for, from the
start of its setup to the end of its teardown. A shared scenario counts in the test that built it. Processes a test
started but never waited for (Spark's JVM) are not counted.

    NDC_TEST_CPU_REPORT=/tmp/cpu.jsonl make test
    python -m tests.cpu_report /tmp/cpu.jsonl      # CPU and wall seconds by test file
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import pytest


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuReport:
    def __init__(self, path: Path) -> None:
        self.path = path

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        cpu, wall = _cpu_seconds(), time.monotonic()
        yield
        line = {"test": item.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                "wall_s": round(time.monotonic() - wall, 2), "cpu_s": round(_cpu_seconds() - cpu, 2)}
        with self.path.open("a", encoding="utf-8") as out:  # one short write per line: workers can share the file
            out.write(json.dumps(line) + "\n")


def by_file(path: Path) -> list[tuple[str, float, float]]:
    """(test file, CPU seconds, wall seconds), most CPU first."""
    cpu, wall = Counter(), Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        name = record["test"].split("::")[0]
        cpu[name] += record["cpu_s"]
        wall[name] += record["wall_s"]
    return [(name, round(seconds, 1), round(wall[name], 1)) for name, seconds in cpu.most_common()]


if __name__ == "__main__":
    rows = by_file(Path(sys.argv[1]))
    print(f"{sum(c for _, c, _ in rows):.0f} CPU-s in all")
    for name, cpu_s, wall_s in rows:
        print(f"{cpu_s:8.1f} CPU-s {wall_s:8.1f} s  {name}")
