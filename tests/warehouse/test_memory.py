"""NDC_DUCKDB_MEMORY_LIMIT bounds DuckDB in dbt's build and in the gates' connections alike."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.support import run_dbt


def test_dbt_builds_within_the_configured_memory(tmp_path: Path):
    (tmp_path / "warehouse").mkdir()
    shown = run_dbt(tmp_path, tmp_path / "target", "show", "--inline",
                    "select current_setting('memory_limit') as memory_limit", "--output", "json", "--log-format", "text",
                    env={"NDC_DUCKDB_MEMORY_LIMIT": "1GB"})
    assert shown.returncode == 0, shown.stdout[-3000:] + shown.stderr[-3000:]
    assert '"memory_limit": "953.6 MiB"' in shown.stdout  # 1GB = 10^9 bytes


def test_the_gates_connection_and_dbts_environment_share_the_limit(tmp_path: Path, monkeypatch):
    from expectations.runner import GateSession

    monkeypatch.setenv("NDC_DUCKDB_MEMORY_LIMIT", "512MB")
    db = tmp_path / "build.duckdb"
    duckdb.connect(str(db)).close()
    settings = Settings.from_env(os.environ)
    with GateSession(db, memory_limit=settings.duckdb_memory_limit) as session, \
            session.source.get_engine().connect() as con:
        assert con.exec_driver_sql("SELECT current_setting('memory_limit')").scalar() == "488.2 MiB"
    assert settings.child_environment()["NDC_DUCKDB_MEMORY_LIMIT"] == "512MB"


def test_the_profile_falls_back_to_the_pipelines_default_limit():
    """dbt run by hand (and `make install`'s saved parse) reads the profile's fallback; a pipeline run passes the
    settings' default. They must agree, or every run's profile differs from the saved parse's and dbt parses again."""
    from warehouse.memory import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV

    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    assert f"env_var('{MEMORY_LIMIT_ENV}', '{DEFAULT_MEMORY_LIMIT}')" in profile
