"""`ndc run` builds the dbt arguments and the run configuration it hands to the job correctly."""

from __future__ import annotations

import dagster as dg

from orchestration.cli import run_config
from orchestration.definitions import defs
from orchestration.defs.dbt import dbt_build_args
from orchestration.defs.jobs import FULL_REFRESH_JOB


def test_pipeline_builds_skip_unit_tests_and_full_refresh_only_when_asked():
    assert dbt_build_args() == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args(full_refresh=True)[-1] == "--full-refresh"


def test_full_refresh_reaches_the_dbt_step_of_the_job():
    job = defs.resolve_job_def(FULL_REFRESH_JOB)
    for full_refresh in (False, True):
        config = run_config(full_refresh)
        dg.validate_run_config(job, config)
    assert run_config(True)["ops"]["dbt_models"]["config"] == {"full_refresh": True}
    assert "ops" not in run_config(False)


def test_allow_shrink_reaches_both_publication_steps_of_the_job():
    job = defs.resolve_job_def(FULL_REFRESH_JOB)
    for full_refresh in (False, True):
        dg.validate_run_config(job, run_config(full_refresh, allow_shrink=True))
    ops = run_config(True, allow_shrink=True)["ops"]
    assert ops["dbt_models"]["config"] == {"full_refresh": True}
    for op in ("published__serving_duckdb", "published__serving_postgres"):
        assert ops[op]["config"] == {"allow_shrink": True}
    assert "ops" not in run_config(False, allow_shrink=False)
