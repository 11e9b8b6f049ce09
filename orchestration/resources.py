"""The resource that carries the project's settings into assets and checks."""


import dataclasses
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings


class NdcResource(dg.ConfigurableResource):
    """Where this deployment keeps its data (`NDC_HOME`) and which dbt target it builds. Secrets (the API token,
    the PostgreSQL DSN) stay in the environment and never appear in run configuration."""

    home: str
    dbt_target: str = "duckdb"

    @classmethod
    def from_settings(cls, settings: Settings) -> "NdcResource":
        return cls(home=str(settings.home), dbt_target=settings.dbt_target)

    @property
    def settings(self) -> Settings:
        return dataclasses.replace(Settings.from_env(), home=Path(self.home), dbt_target=self.dbt_target)
