"""What a run says when `dbt build` fails otherwise than by tests a `dbt_tests` check reports: each node that
failed, by name, with its failing rows or the first line of its error, escaped like any delivered text.

In a run of every model, the quarterly models are built by the same `dbt build` but have no check of their own in
it (they are `dbt_quarterly_models`' assets), so a failing quarterly test reaches the report only this way."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.dbt import (
    DBT_TESTS_CHECK,
    machine_failure,
    manifest,
    reported_every_failure,
    unreported_failures,
)
from orchestration.environment import diagnose


def _node(resource_type: str, attached_to: str) -> str:
    return next(uid for uid, node in manifest()["nodes"].items()
                if node["resource_type"] == resource_type
                and (uid.endswith(f".{attached_to}") if resource_type != "test"
                     else (node.get("attached_node") or "").endswith(f".{attached_to}")))


@pytest.fixture(scope="module")
def failures() -> tuple[list[dict], list[dg.AssetCheckResult], dict[str, str]]:
    ids = {"quarterly_test": _node("test", "fct_quarterly_report"), "model": _node("model", "mart_zone_evaluation"),
           "reported_test": _node("test", "dim_zone")}
    results = [
        {"unique_id": ids["quarterly_test"], "status": "fail", "failures": 3, "message": "Got 3 results"},
        {"unique_id": ids["model"], "status": "error", "failures": None,
         "message": "Conversion Error: Could not convert string '\x1b[2Jrm -rf\nINFO all fine' to INT32\nLINE 4"},
        {"unique_id": ids["reported_test"], "status": "fail", "failures": 1, "message": "Got 1 result"},
        {"unique_id": _node("model", "dim_period"), "status": "success", "failures": None, "message": "OK"},
    ]
    check = dg.AssetCheckResult(asset_key=dg.AssetKey(["analytics", "dim_zone"]), check_name=DBT_TESTS_CHECK,
                                passed=False, metadata={"failed": dg.MetadataValue.json(
                                    [{"unique_id": ids["reported_test"], "test": "x"}])})
    return results, [check], ids


def test_a_failure_no_check_reports_is_named_with_its_failing_rows_or_its_error(failures):
    results, checks, ids = failures
    assert not reported_every_failure(results, checks)
    lines = unreported_failures(results, manifest(), checks)
    quarterly_test = manifest()["nodes"][ids["quarterly_test"]]["name"]
    assert lines[0] == f"test {quarterly_test}: 3 failing rows"
    assert lines[1].startswith("model mart_zone_evaluation: error (Conversion Error: Could not convert string")
    assert len(lines) == 2, "the test its check reports and the model that built are not repeated"


def test_an_error_message_quoting_delivered_text_is_escaped_and_cut(failures):
    results, checks, _ = failures
    model_line = unreported_failures(results, manifest(), checks)[1]
    assert "\x1b" not in model_line and "\n" not in model_line
    assert "string '\\x1b[2Jrm -rf" in model_line, "the escape sequence is shown escaped"
    assert "INFO all fine" not in model_line, "only the error's first line is shown: no forged line follows"


def test_a_models_error_is_shown_without_dbts_header_and_a_full_disk_is_named_whole():
    """dbt's message for a model's error starts with a line naming the model again; the report shows the error
    itself. A full disk's line is kept whole as well (the report's lines are cut at 200 characters), so that
    `ndc run` can tell the machine's failure from the data's."""
    wal = "/srv/" + "a-long-folder-name/" * 12 + "ndc/warehouse/build.duckdb.wal"
    disk_full = f'TransactionContext Error: Failed to commit: Could not write file "{wal}": No space left on device'
    results = [{"unique_id": _node("model", "mart_zone_evaluation"), "status": "error", "failures": None,
                "message": "Runtime Error in model mart_zone_evaluation (models/marts/mart_zone_evaluation.sql)\n"
                           f"  {disk_full}"}]
    (line,) = unreported_failures(results, manifest(), [])
    assert line.startswith("model mart_zone_evaluation: error (TransactionContext Error: Failed to commit")
    assert "No space left on device" not in line, "the report's line is cut"
    assert machine_failure(results) == disk_full
    failure = diagnose("\n".join([line, f"the machine, not the data: {machine_failure(results)}"]), Path("/srv"))
    assert failure and failure.what == f"the disk is full writing {wal} (No space left on device)"
    data_error = [{**results[0], "message": "Runtime Error in model m (models/m.sql)\n  Conversion Error: no INT32"}]
    assert machine_failure(data_error) is None
