"""The Dagster instance `ndc run` writes its run to: the home's own, with a cheaper event log when it is SQLite.

Every event of a run (about 650 for one `ndc run`: each asset's plan, output and materialization, each check) is
one write to the run's SQLite file and often one to the index file. Dagster's SQLite event log builds a new
SQLAlchemy engine and connection for each write and commits it with a full fsync; on these machines that was
8 of the 36 CPU-seconds of an `ndc run` on an empty home (docs/benchmark.md). `LocalSqliteStorage` keeps one engine
per file for the life of the instance and commits with `synchronous=NORMAL`, which in SQLite's WAL mode (the
mode Dagster puts its files in) still survives a crash of the process; a power cut can lose the last events of
the log, never corrupt it. The files are the same files in the same format: the webserver and the daemon read
them with Dagster's own storage.

Only `ndc run` uses it, and only on the default SQLite storage: an instance configured otherwise (the production
dagster.yaml's PostgreSQL) is opened as configured. This subclasses Dagster's SQLite storage classes and uses
members of them that are not public (`_connect`, `_initdb`, `_initialized_dbs`, `_db_lock`,
`_event_log_storage`); dagster is pinned exactly in pyproject.toml, and tests/orchestration/test_instance.py checks
that a run through it is read back by Dagster's own storage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_S = 30  # what Dagster's SQLite storage waits for another process's write lock


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with one engine per shard kept open and WAL commits not fsynced."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[str, Engine] = {}
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard),
                                   connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
            event.listen(engine, "connect", _commit_without_fsync)
            self._engines[shard] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Whether the index file has the table, asked of the file once: Dagster asks before each asset-check and
        tagged asset event, and its answer built a new engine and read the file's schema every time (about one
        CPU-second of an `ndc run` on the sample). A table once there stays: migrations add tables, and wiping the
        log empties them."""
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _commit_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class LocalSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage of a home, its event log pooled."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(os.path.join(base_dir, "history", "runs", ""))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> LocalSqliteStorage:
        return cls(inst_data=inst_data, **config_value)


DEFAULT_STORAGE = ("dagster._core.storage.sqlite_storage", "DagsterSqliteStorage")


def open_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The instance of `dagster_home` (its dagster.yaml, or Dagster's defaults), for a run written from here."""
    ref = InstanceRef.from_dir(str(dagster_home))
    stored = ref.storage_data
    if stored is not None and (stored.module_name, stored.class_name) == DEFAULT_STORAGE:
        ref = ref._replace(storage_data=ConfigurableClassData(__name__, LocalSqliteStorage.__name__,
                                                              stored.config_yaml))
    return dg.DagsterInstance.from_ref(ref)
