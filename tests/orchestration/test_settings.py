"""The environment is read once, when the code location loads; the `ndc` resource carries every setting from there,
the secrets only by their variable's name, and the DuckDB memory limit reaches the gates and publication."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from orchestration.cli import run_config
from orchestration.definitions import build_definitions
from orchestration.defs.jobs import FULL_REFRESH_JOB
from orchestration.defs import publish
from orchestration.defs.publish import SERVING_DUCKDB
from orchestration.resources import NdcResource, RunLockResource
from orchestration.settings import DBT_PROJECT_DIR, Settings

TOKEN = "tok-3f9a-never-shown"
PASSWORD = "pw-77c1-never-shown"  # pragma: allowlist secret (a made-up password the test looks for)
DSN = f"postgresql://publisher:{PASSWORD}@db.example:5432/ndc"


@pytest.fixture
def environment(tmp_path: Path, monkeypatch) -> Path:
    """Every NDC_ variable set, none to its default."""
    values = {
        "NDC_HOME": str(tmp_path / "ndc"),
        "NDC_API_URL": "https://reporting.example/api",
        "NDC_API_TOKEN": TOKEN,
        "NDC_API_RETRY_BUDGET_S": "45",
        "NDC_DBT_TARGET": "spark",
        "NDC_DBT_THREADS": "3",
        "NDC_PUBLISH_POSTGRES_DSN": DSN,
        "NDC_DUCKDB_MEMORY_LIMIT": "512MB",
        "NDC_DOCS_BASE_URL": "https://docs.example/ndc",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def _at_run_start(resource: NdcResource) -> Settings:
    """The settings an asset sees: the resource as Dagster initialises it for a run (EnvVar fields resolved)."""
    return resource.process_config_and_initialize().settings


def test_the_resource_carries_the_settings_read_at_load_and_later_changes_do_nothing(environment: Path, monkeypatch):
    loaded = Settings.from_env()
    resource = build_definitions(loaded).resources["ndc"]
    assert _at_run_start(resource) == loaded
    assert loaded.duckdb_memory_limit == "512MB" and loaded.api_retry_budget_s == 45 and loaded.builds_on_spark
    assert loaded.docs_base_url == "https://docs.example/ndc/" and loaded.dbt_threads == 3

    monkeypatch.setenv("NDC_HOME", str(environment / "elsewhere"))
    monkeypatch.setenv("NDC_API_URL", "https://other.example/api")
    monkeypatch.setenv("NDC_API_RETRY_BUDGET_S", "5")
    monkeypatch.setenv("NDC_DBT_TARGET", "duckdb")
    monkeypatch.setenv("NDC_DBT_THREADS", "1")
    monkeypatch.setenv("NDC_DUCKDB_MEMORY_LIMIT", "2GB")
    assert _at_run_start(resource) == loaded


def test_unset_secrets_leave_a_valid_resource_without_them(environment: Path, monkeypatch):
    # Dagster fails a run whose EnvVar names an unset variable: an unset secret must not become one.
    monkeypatch.delenv("NDC_API_TOKEN")
    monkeypatch.setenv("NDC_PUBLISH_POSTGRES_DSN", "")
    settings = _at_run_start(NdcResource.from_settings(Settings.from_env()))
    assert settings.api_token is None and settings.publish_postgres_dsn is None
    assert settings.api_url == "https://reporting.example/api"


def _shown(definitions: dg.Definitions) -> str:
    """What Dagster keeps and shows of a code location: its repository snapshot (resources with their config, every
    job with its config schema and defaults, as the UI's launchpad scaffolds them)."""
    return serialize_value(RepositorySnap.from_def(definitions.get_repository_def()))


def test_secrets_never_appear_in_run_configuration_or_the_ui(environment: Path):
    definitions = build_definitions(Settings.from_env())
    shown = _shown(definitions)
    job = serialize_value(definitions.resolve_job_def(FULL_REFRESH_JOB).get_job_snapshot())
    for text in (shown, job, json.dumps(run_config(True)), json.dumps(run_config(False))):
        assert TOKEN not in text and PASSWORD not in text
    assert "NDC_API_TOKEN" in job and "NDC_PUBLISH_POSTGRES_DSN" in job  # named, resolved when a run starts
    assert "https://reporting.example/api" in job  # the other settings are plain config

    # The probe sees the resource's config: the same secrets as plain values would show.
    plain = dg.Definitions.merge(publish.defs(), dg.Definitions(resources={"ndc": NdcResource(
        home=str(environment), api_token=TOKEN, publish_postgres_dsn=DSN),
        "run_lock": RunLockResource(home=str(environment))}))
    assert TOKEN in _shown(plain) and PASSWORD in _shown(plain)


def _execute(settings: Settings, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
    definitions = build_definitions(settings)
    job = dg.define_asset_job("under_test", selection=selection)
    return dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def("under_test") \
        .execute_in_process(instance=dg.DagsterInstance.ephemeral())


def _build_db(settings: Settings) -> None:
    settings.build_db.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("CREATE SCHEMA analytics")
        con.execute("CREATE TABLE analytics.facts AS SELECT 1 AS id")


def test_the_memory_limit_reaches_the_gates_engine_from_the_settings(tmp_path: Path, monkeypatch):
    import expectations.runner as runner
    from orchestration.defs.quality import gates

    settings = Settings(home=tmp_path, duckdb_memory_limit="512MB")
    _build_db(settings)
    engines: list[str] = []

    def validate_suites(db_path, suites, quality_dir=None, memory_limit=runner.DEFAULT_MEMORY_LIMIT):
        # The gates' own session, opened with the limit the check passed; what its engine reports is what GX uses.
        with runner.GateSession(db_path, memory_limit=memory_limit) as session, \
                session.source.get_engine().connect() as con:
            engines.append(con.exec_driver_sql("SELECT current_setting('memory_limit')").scalar())
        return [runner.GateResult(s.name, "-", True, s.blocking, 0, []) for s in suites]

    monkeypatch.setattr(runner, "validate_suites", validate_suites)
    checks = [key for stage in ("raw", "published") for key in gates(stage).check_keys]
    assert _execute(settings, dg.AssetSelection.checks(*checks)).success
    assert engines == ["488.2 MiB", "488.2 MiB"]  # 512MB = 512 * 10^6 bytes, once per stage


def test_the_memory_limit_reaches_publication_from_the_settings(tmp_path: Path, monkeypatch):
    import warehouse.publish

    settings = Settings(home=tmp_path, duckdb_memory_limit="512MB")
    _build_db(settings)
    opened: list[dict[str, str]] = []
    real = warehouse.publish.duckdb_config
    monkeypatch.setattr(warehouse.publish, "duckdb_config", lambda limit: opened.append(real(limit)) or opened[-1])
    assert _execute(settings, dg.AssetSelection.assets(SERVING_DUCKDB)).success
    assert opened == [{"memory_limit": "512MB"}]
    with duckdb.connect(str(settings.serving_db), read_only=True) as con:
        assert con.execute("SELECT id FROM analytics.facts").fetchall() == [(1,)]


def test_without_a_dsn_postgresql_publication_is_skipped_not_materialized(tmp_path: Path):
    """An unconfigured PostgreSQL copy must not look published (and fresh): the run records an observation saying it
    was skipped, and no materialization."""
    settings = Settings(home=tmp_path)
    result = _execute(settings, dg.AssetSelection.assets(publish.SERVING_POSTGRES))
    assert result.success
    assert not [e for e in result.get_asset_materialization_events()]
    observed = [e.asset_observation_data.asset_observation for e in result.all_events
                if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION]
    assert [o.asset_key for o in observed] == [publish.SERVING_POSTGRES]
    assert observed[0].metadata["skipped"].value.startswith("skipped: no DSN configured")


def test_a_run_the_daemon_starts_publishes_where_ndc_run_does(environment: Path):
    """A daemon's run worker loads the code location in its own process, from the environment `make dev` was started
    with; the settings its assets see must be those `ndc run` reads from the same environment."""
    import os
    import subprocess
    import sys

    probe = ("from orchestration.definitions import defs; "
             "s = defs.resources['ndc'].process_config_and_initialize().settings; "
             "print(s.home, s.serving_db, s.publish_postgres_dsn, sep='\\n')")
    worker = subprocess.run([sys.executable, "-c", probe], env=dict(os.environ), capture_output=True, text=True,
                            check=True)
    cli = Settings.from_env()  # what `ndc run` reads (orchestration/cli.py, `_settings`)
    assert worker.stdout.split("\n")[:3] == [str(cli.home), str(cli.serving_db), DSN]


def test_links_to_served_documentation_are_under_the_docs_base_url(environment: Path, monkeypatch):
    settings = Settings.from_env()
    assert settings.docs_url(settings.quality_docs / "validations" / "a b.html") == \
        "https://docs.example/ndc/quality/validations/a%20b.html"
    assert settings.docs_url(settings.evaluation_report) == "https://docs.example/ndc/reports/evaluation.html"
    assert settings.docs_url(settings.dbt_docs / "index.html") == "https://docs.example/ndc/dbt/index.html"
    assert settings.docs_url(settings.serving_db) is None  # never served
    monkeypatch.delenv("NDC_DOCS_BASE_URL")
    assert Settings.from_env().docs_base_url == "http://127.0.0.1:8080/"
    monkeypatch.setenv("NDC_DOCS_BASE_URL", "/srv/docs")
    with pytest.raises(ValueError, match="NDC_DOCS_BASE_URL"):
        Settings.from_env()


@pytest.mark.parametrize("text", ["0", "33", "two", "-1", "1.5"])
def test_a_thread_count_dbt_cannot_use_is_refused_naming_the_setting(text: str):
    with pytest.raises(ValueError, match=r"NDC_DBT_THREADS=.*a whole number of threads from 1 to 32"):
        Settings.from_env({"NDC_HOME": "/tmp/ndc", "NDC_DBT_THREADS": text})


def test_dbt_threads_reach_dbt_and_default_to_the_profiles_own():
    """The thread count reaches dbt's profile through its environment; unset, both sides agree on one thread (dbt run
    by hand reads the profile's fallback)."""
    assert Settings.from_env({"NDC_DBT_THREADS": " 4 "}).child_environment()["NDC_DBT_THREADS"] == "4"
    unset = Settings.from_env({})
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    assert f"env_var('NDC_DBT_THREADS', '{unset.dbt_threads}')" in profile
