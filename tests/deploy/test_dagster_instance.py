"""orchestration/deploy/dagster.yaml on a real PostgreSQL: runs, their events and schedule state are stored there, and the run
queue lets one run per warehouse write at a time."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._utils.tags import TagConcurrencyLimitsCounter
from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)

from orchestration.definitions import build_definitions
from orchestration.defs.jobs import FULL_REFRESH_JOB, WAREHOUSE_TAG, warehouse_tags
from orchestration.settings import Settings
from tests.deploy.conftest import ServiceInstance


@dg.op
def land(context) -> int:
    context.log.info("landed 3 rows")
    return 3


@dg.op
def publish(context, rows: int) -> None:
    context.log.info(f"published {rows} rows")


@dg.job
def small_job():
    publish(land())


def test_runs_events_and_schedules_are_stored_in_postgresql(service_instance: ServiceInstance, tmp_path: Path):
    tags = warehouse_tags(Settings(home=tmp_path / "ndc"))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        result = small_job.execute_in_process(instance=instance, tags=tags)
        assert result.success

    # What another process (the webserver, the daemon) reads: the rows in PostgreSQL itself.
    with psycopg.connect(service_instance.dsn) as con:
        status = con.execute("SELECT status FROM runs WHERE run_id = %s", [result.run_id]).fetchone()
        assert status == ("SUCCESS",)
        run_tags = dict(con.execute("SELECT key, value FROM run_tags WHERE run_id = %s", [result.run_id]).fetchall())
        assert run_tags[WAREHOUSE_TAG] == tags[WAREHOUSE_TAG]
        events = {row[0] for row in con.execute("SELECT dagster_event_type FROM event_logs WHERE run_id = %s",
                                                 [result.run_id])}
        assert {"STEP_START", "STEP_SUCCESS"} <= events
        assert {"RUN_SUCCESS", "PIPELINE_SUCCESS"} & events  # the run's end, stored under its legacy name
        # Schedule and sensor state has its tables there too (the daemon writes ticks to them).
        tables = {row[0] for row in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"runs", "event_logs", "jobs", "job_ticks", "instigators"} <= tables


def test_the_queue_lets_one_run_per_warehouse_write(service_instance: ServiceInstance, tmp_path: Path):
    with dg.DagsterInstance.get() as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        queue = coordinator.get_run_queue_config()
        assert queue.max_concurrent_runs == 4
        assert queue.tag_concurrency_limits == [
            {"key": WAREHOUSE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        ]

        # The pipeline's own job carries the tag, so a run started from the UI, the schedule or the sensor has it.
        one, other = Settings(home=tmp_path / "one"), Settings(home=tmp_path / "other")
        job = build_definitions(one).resolve_job_def(FULL_REFRESH_JOB)
        assert job.tags[WAREHOUSE_TAG] == warehouse_tags(one)[WAREHOUSE_TAG]

        # Three runs, stored in PostgreSQL and read back from it as the daemon reads the queue. (Queueing a run for
        # real needs the code location served over gRPC, as in a deployment; the dequeue rule is what matters here.)
        created = [instance.create_run_for_job(small_job, tags=warehouse_tags(s)) for s in (one, one, other)]
        runs = [instance.get_run_by_id(r.run_id) for r in created]

        # Dagster's dequeue rule under this configuration: while the first run writes warehouse `one`, the second
        # run for `one` waits and the run for `other` may start.
        counter = TagConcurrencyLimitsCounter(queue.tag_concurrency_limits, [runs[0]])
        assert counter.is_blocked(runs[1])
        assert not counter.is_blocked(runs[2])
