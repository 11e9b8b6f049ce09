"""NDC_TEST_CPU_REPORT: what each test costs in CPU, the processes it waited for included (tests/cpu_report.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.settings import REPO_ROOT
from tests.cpu_report import by_file

# A test that works in a child process and one that waits: the report tells them apart where wall time cannot.
TESTS = '''
import subprocess, sys, time

def test_works_in_a_child():
    # Busy for 0.4 CPU-s whatever the machine's speed.
    subprocess.run([sys.executable, "-c", "import time\\nwhile time.process_time() < 0.4: pass"], check=True)

def test_waits():
    time.sleep(0.5)
'''


def _run(args: list[str], report: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NDC_TEST_CPU_REPORT": str(report), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_each_test_reports_its_own_and_its_childrens_cpu(tmp_path: Path):
    # The project's own hook, which registers the report when NDC_TEST_CPU_REPORT is set.
    (tmp_path / "conftest.py").write_text("from tests.conftest import pytest_configure  # noqa: F401\n")
    (tmp_path / "test_costs.py").write_text(TESTS)
    report = tmp_path / "cpu.jsonl"
    done = _run(["-p", "no:xdist", "test_costs.py"], report, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {r["test"]: r for r in map(json.loads, report.read_text().splitlines())}
    assert set(lines) == {"test_costs.py::test_works_in_a_child", "test_costs.py::test_waits"}
    child, waiting = lines["test_costs.py::test_works_in_a_child"], lines["test_costs.py::test_waits"]
    assert child["cpu_s"] >= 0.2, child  # the child's CPU is counted
    assert waiting["wall_s"] >= 0.5 > waiting["cpu_s"] + 0.3, waiting
    assert [name for name, _, _ in by_file(report)] == ["test_costs.py"]

