"""The dbt unit tests (every official rule at its boundaries) pass. Pipeline runs skip them, so they run here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import PublishedSample, run_dbt

pytestmark = pytest.mark.slow


def test_every_dbt_unit_test_passes(published_sample: PublishedSample, tmp_path: Path):
    # Unit tests take their fixtures' column types from the built relations, hence a built warehouse. Their target
    # folder is their own: the project's target/ holds the manifest other tests' code locations read meanwhile.
    result = run_dbt(published_sample.copy_to(tmp_path / "ndc"), tmp_path / "target", "test", "--select",
                     "test_type:unit")
    assert result.returncode == 0, result.stdout[-6000:]
    summary = [line for line in result.stdout.splitlines() if "Done. PASS=" in line]
    assert summary and "ERROR=0" in summary[0], result.stdout[-3000:]
    passed = int(summary[0].split("PASS=")[1].split()[0])
    assert passed >= 20, f"expected every rule's unit tests to run, got {summary[0]}"
