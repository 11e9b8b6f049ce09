"""The resource that carries the project's settings into assets and checks."""


from pathlib import Path

import dagster as dg

from ingestion.api_client import DEFAULT_RETRY_BUDGET_S
from orchestration.settings import API_TOKEN_ENV, PUBLISH_POSTGRES_DSN_ENV, Settings
from warehouse.memory import DEFAULT_MEMORY_LIMIT


class NdcResource(dg.ConfigurableResource):
    """Every setting of this deployment (orchestration/settings.py), as read once when the code location loaded.
    Secrets (the API token, the PostgreSQL DSN) are given as `dg.EnvVar`: Dagster resolves them when a run starts
    and shows only the variable's name, so their values never appear in run configuration or the UI."""

    home: str
    api_url: str | None = None
    api_token: str | None = None
    api_retry_budget_s: float = DEFAULT_RETRY_BUDGET_S
    dbt_target: str = "duckdb"
    publish_postgres_dsn: str | None = None
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    pg_confine_reader: bool = False

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
            publish_postgres_dsn=dg.EnvVar(PUBLISH_POSTGRES_DSN_ENV) if settings.publish_postgres_dsn else None,
            duckdb_memory_limit=settings.duckdb_memory_limit,
            pg_confine_reader=settings.pg_confine_reader,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            home=Path(self.home),
            api_url=self.api_url or None,
            api_token=self.api_token or None,
            api_retry_budget_s=self.api_retry_budget_s,
            dbt_target=self.dbt_target,
            publish_postgres_dsn=self.publish_postgres_dsn or None,
            duckdb_memory_limit=self.duckdb_memory_limit,
            pg_confine_reader=self.pg_confine_reader,
        )
