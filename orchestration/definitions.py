"""The Dagster code location: per-area definitions merged, with the resources they share."""

from __future__ import annotations

import dagster as dg

from orchestration.defs import dbt, ingestion, jobs, publish, quality, report
from orchestration.resources import NdcResource, RunLockResource
from orchestration.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions.merge(
        ingestion.defs(),
        dbt.defs(),
        quality.defs(),
        publish.defs(),
        report.defs(),
        jobs.defs(settings),
        dg.Definitions(
            resources={"ndc": NdcResource.from_settings(settings), "dbt": dbt.dbt_resource(),
                       "run_lock": RunLockResource(home=str(settings.home))},
            executor=dg.in_process_executor,
        ),
    )


defs = build_definitions(Settings.from_env())
