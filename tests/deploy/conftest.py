"""A Dagster instance configured by orchestration/deploy/dagster.yaml, on a throwaway PostgreSQL database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from orchestration.settings import REPO_ROOT
from tests.support import throwaway_database

DEPLOY_DAGSTER_YAML = REPO_ROOT / "orchestration" / "deploy" / "dagster.yaml"


def sqlalchemy_url(dsn: str) -> str:
    """The URL form Dagster's postgres_url takes (psycopg2, which dagster-postgres is written for), from a libpq
    connection string."""
    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    credentials = parts.get("user", "postgres") + (f":{parts['password']}" if parts.get("password") else "")
    return f"postgresql+psycopg2://{credentials}@{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/{parts['dbname']}"


@dataclass(frozen=True)
class ServiceInstance:
    dagster_home: Path  # holds orchestration/deploy/dagster.yaml, unchanged
    dsn: str  # the database the instance stores runs, events and schedules in
    environment: dict[str, str]  # what a process using this instance must have set

    def install(self, dagster_home: Path) -> Path:
        """Put the production dagster.yaml into another DAGSTER_HOME (e.g. an NDC_HOME's dagster/)."""
        dagster_home.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY_DAGSTER_YAML, dagster_home / "dagster.yaml")
        return dagster_home


@pytest.fixture
def service_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceInstance]:
    with throwaway_database() as dsn:
        home = tmp_path / "dagster_home"
        instance = ServiceInstance(home, dsn, {
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": sqlalchemy_url(dsn),
            "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "compute_logs"),
        })
        instance.install(home)
        for key, value in instance.environment.items():
            monkeypatch.setenv(key, value)
        yield instance
