"""The instance `ndc run` writes through (orchestration/instance.py): its runs read back by Dagster's own storage, as
the webserver and the daemon read them, and an instance configured otherwise is left as configured."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.instance import PooledSqliteEventLogStorage, open_instance


@dg.asset
def one_number() -> int:
    return 1


@dg.asset_check(asset=one_number)
def one_is_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_a_run_written_through_the_pooled_log_is_read_by_dagsters_own_storage(tmp_path: Path):
    with open_instance(tmp_path) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        for _ in range(2):  # the second run reuses the engines of the index file
            assert dg.materialize([one_number, one_is_positive], instance=instance).success
        written = [(r.run_id, len(instance.all_logs(r.run_id))) for r in instance.get_runs()]

    with dg.DagsterInstance.from_config(str(tmp_path)) as reader:
        assert not isinstance(reader.event_log_storage, PooledSqliteEventLogStorage)
        assert [(r.run_id, len(reader.all_logs(r.run_id))) for r in reader.get_runs()] == written
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in reader.get_runs())
        materialization = reader.get_latest_materialization_event(one_number.key)
        assert materialization is not None and materialization.run_id == written[0][0]  # newest run first
        check = reader.get_latest_asset_check_evaluation_record(one_is_positive.check_key)  # the index file
        assert check is not None and check.run_id == written[0][0]


def test_an_instance_configured_otherwise_is_opened_as_configured(tmp_path: Path):
    logs = tmp_path / "elsewhere"
    (tmp_path / "dagster.yaml").write_text(
        "event_log_storage:\n"
        "  module: dagster._core.storage.event_log\n"
        "  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {logs}\n")
    with open_instance(tmp_path) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert dg.materialize([one_number], instance=instance).success
    assert list(logs.glob("*.db"))


def test_the_pooled_log_reads_the_index_files_schema_once_per_table(tmp_path: Path, monkeypatch):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    asked: list[str] = []
    read_schema = SqliteEventLogStorage.has_table

    def counted(self, table_name: str) -> bool:
        asked.append(table_name)
        return read_schema(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counted)
    with open_instance(tmp_path) as instance:
        for _ in range(3):
            assert dg.materialize([one_number, one_is_positive], instance=instance).success
        assert instance.event_log_storage.supports_asset_checks
        assert instance.get_latest_asset_check_evaluation_record(one_is_positive.check_key) is not None
    # Dagster asks before every asset-check and tagged event; the file is read once for each table it has.
    assert asked and len(asked) == len(set(asked)), asked
