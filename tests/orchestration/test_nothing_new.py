"""A run with nothing new is nearly free: `ndc run` compares with what the last publication was built from
(orchestration/fingerprint.py), says so and publishes nothing; anything that could change the publication rebuilds.
The nightly chain does the same in Dagster: a landing that touched no year starts no rebuild."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration import fingerprint
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.support import BlockedRun, PublishedSample, deliver, run_ndc, sha256

pytestmark = pytest.mark.slow


def _runs(home: Path) -> int:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return len(instance.get_runs())


def test_a_run_with_nothing_new_publishes_nothing_and_says_so(published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    serving, runs = sha256(home / "warehouse" / "serving.duckdb"), _runs(home)
    again = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": published_sample.postgres_dsn})
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert again.stdout.startswith("NOTHING NEW since the publication of"), again.stdout
    assert "Nothing was built or published" in again.stdout and "ndc run --full-refresh" in again.stdout
    assert "timings:" not in again.stdout and "PUBLISHED" not in again.stdout
    assert sha256(home / "warehouse" / "serving.duckdb") == serving
    assert _runs(home) == runs, "no Dagster run: not even the definitions were loaded"


def test_a_new_delivery_a_changed_setting_or_a_deleted_serving_copy_means_a_rebuild(
        published_sample: PublishedSample, tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "ndc")
    settings = Settings(home=home, publish_postgres_dsn=published_sample.postgres_dsn)
    assert fingerprint.check(settings).nothing_new
    assert "a setting" in fingerprint.check(Settings(home=home)).reason  # PostgreSQL no longer published to
    assert "a setting" in fingerprint.check(Settings(home=home, publish_postgres_dsn=published_sample.postgres_dsn,
                                                     dbt_target="spark")).reason
    (home / "warehouse" / "serving.duckdb").unlink()
    assert "the serving file" in fingerprint.check(settings).reason
    shutil.copy2(published_sample.home / "warehouse" / "serving.duckdb", home / "warehouse" / "serving.duckdb")
    assert fingerprint.check(settings).nothing_new, "the same file, time and size included, is the same publication"
    deliver(home, "enterprise", 2023, "110000_20240301.csv", [{"filing_id": "ENT-2023-LATE"}])
    assert "1 new or changed deliveries" in fingerprint.check(settings).reason


def test_a_run_after_a_model_change_rebuilds(published_sample: PublishedSample, tmp_path: Path):
    settings = Settings(home=published_sample.home, publish_postgres_dsn=published_sample.postgres_dsn)
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns(*fingerprint.DBT_WRITES))
    assert fingerprint.code_state(dbt_project=project) == fingerprint.code_state(), "a copy is the same project"
    model = project / "models" / "marts" / "core" / "dim_region.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- changed\n", encoding="utf-8")
    verdict = fingerprint.check(settings, code=fingerprint.code_state(dbt_project=project))
    assert not verdict.nothing_new and "the dbt project changed" in verdict.reason


def test_a_run_after_a_failed_run_rebuilds(blocked_sample: BlockedRun):
    assert blocked_sample.run.returncode == 1
    assert not fingerprint.record_path(Settings(home=blocked_sample.home)).exists()
    verdict = fingerprint.check(Settings(home=blocked_sample.home))
    assert not verdict.nothing_new and "no publication recorded" in verdict.reason


def test_a_landing_that_touched_nothing_starts_no_rebuild(published_sample: PublishedSample, tmp_path: Path):
    from orchestration.definitions import build_definitions
    from orchestration.defs.jobs import LAND_JOB
    from orchestration.partitions import all_years_tags

    home = published_sample.copy_to(tmp_path / "ndc")
    definitions = build_definitions(Settings(home=home))
    sensor = definitions.resolve_sensor_def("rebuild_touched_years")
    with dg.DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_job_def(LAND_JOB).execute_in_process(
            instance=instance, tags={**all_years_tags(), "ndc/trigger": "nightly"})
        assert result.success
        success = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
        context = dg.build_run_status_sensor_context(
            sensor_name="rebuild_touched_years", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=success)
        skipped = sensor(context)
    assert isinstance(skipped, dg.SkipReason) and "changed no reporting year" in skipped.skip_message
