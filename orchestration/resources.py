"""The resources assets and checks share: the project's settings, and the lock every writing run holds."""


from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from ingestion.api_client import DEFAULT_RETRY_BUDGET_S
from orchestration.settings import (
    API_TOKEN_ENV,
    DEFAULT_DBT_THREADS,
    DEFAULT_DOCS_BASE_URL,
    PUBLISH_POSTGRES_DSN_ENV,
    Settings,
)
from warehouse.memory import DEFAULT_MEMORY_LIMIT
from warehouse.publish import remove_leftover_temporaries
from warehouse.run_lock import RunLock

# How long a Dagster run waits for another run (`ndc run`, a run of another Dagster instance) to release the
# warehouse before it fails saying which run holds it. The service's run queue keeps its own runs apart already.
LOCK_WAIT_S = 600.0


class NdcResource(dg.ConfigurableResource):
    """Every setting of this deployment (orchestration/settings.py), as read once when the code location loaded.
    Secrets (the API token, the PostgreSQL DSN) are given as `dg.EnvVar`: Dagster resolves them when a run starts
    and shows only the variable's name, so their values never appear in run configuration or the UI."""

    home: str
    api_url: str | None = None
    api_token: str | None = None
    api_retry_budget_s: float = DEFAULT_RETRY_BUDGET_S
    dbt_target: str = "duckdb"
    dbt_threads: int = DEFAULT_DBT_THREADS
    publish_postgres_dsn: str | None = None
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    pg_confine_reader: bool = False
    docs_base_url: str = DEFAULT_DOCS_BASE_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> "NdcResource":
        """The resource for settings read by `Settings.from_env()`: a secret they hold is in its variable."""
        # A secret becomes an EnvVar only when it was set: Dagster fails a run whose EnvVar names an unset variable,
        # while an unset secret is a valid setting (no API pull, no PostgreSQL).
        return cls(
            home=str(settings.home),
            api_url=settings.api_url,
            api_token=dg.EnvVar(API_TOKEN_ENV) if settings.api_token else None,
            api_retry_budget_s=settings.api_retry_budget_s,
            dbt_target=settings.dbt_target,
            dbt_threads=settings.dbt_threads,
            publish_postgres_dsn=dg.EnvVar(PUBLISH_POSTGRES_DSN_ENV) if settings.publish_postgres_dsn else None,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            pg_confine_reader=settings.pg_confine_reader,
            docs_base_url=settings.docs_base_url,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            home=Path(self.home),
            api_url=self.api_url or None,
            api_token=self.api_token or None,
            api_retry_budget_s=self.api_retry_budget_s,
            dbt_target=self.dbt_target,
            dbt_threads=self.dbt_threads,
            publish_postgres_dsn=self.publish_postgres_dsn or None,
            duckdb_memory_limit=self.duckdb_memory_limit,
            pg_confine_reader=self.pg_confine_reader,
            docs_base_url=self.docs_base_url,
        )


def run_origin(tags: Mapping[str, str]) -> str:
    """What started a run, from its tags, for the message a second writer prints."""
    if tags.get("ndc/trigger") == "cli":
        return "ndc run"
    if "dagster/schedule_name" in tags:
        return f"the schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"the sensor {tags['dagster/sensor_name']}"
    return "the Dagster UI or `dagster job execute`"


class RunLockResource(dg.ConfigurableResource):
    """$NDC_HOME/run.lock, held by the run from before its first step until after its last (warehouse/run_lock.py).

    Every asset that writes under NDC_HOME requires it, so the in-process executor sets it up once per run: a lock
    per step would let two runs interleave their steps. Within `ndc run` the command holds the lock already and this
    takes it again in the same process."""

    home: str
    wait_s: float = LOCK_WAIT_S

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["RunLockResource"]:
        run = context.run
        by = run_origin(run.tags) + f", Dagster run {run.run_id}" if run else "Dagster"

        def waiting(holder: str) -> None:
            context.log.warning(f"waiting up to {self.wait_s:.0f} s for the run that writes to {self.home} to "
                                f"finish: {holder}")

        with RunLock(Path(self.home), by=by, wait_s=self.wait_s, on_wait=waiting):
            # Holding the lock, no publication is in flight: a temporary serving file is a killed run's.
            remove_leftover_temporaries(Settings(home=Path(self.home)).serving_db)
            yield self
