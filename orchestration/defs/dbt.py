"""dbt models as assets, from the manifest built ahead of time (`make install`; never parsed at load)."""


import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging.version import Version

from ingestion.landing import RawStore
from orchestration.partitions import SINGLE_RUN, YEARS, dbt_period_vars, run_years
from orchestration.resources import NdcResource, RunLockResource
from orchestration.settings import DBT_PROJECT_DIR
from warehouse.publish import PUBLISHED_SCHEMAS

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
DBT_ASSETS_NAME = "dbt_models"  # the op that runs `dbt build`; run config addresses it by this name
OWNERS = ["team:data-platform"]
# How many runs' dbt folders ($NDC_HOME/dbt/runs/<run id>) are kept: each holds about 12 MB (compiled SQL, results,
# dbt's debug log), which a nightly schedule would otherwise pile up.
DBT_RUNS_KEPT = 14
# The asset group of each folder under models/ (and of seeds), i.e. the layer a reader sees in the graph. The
# reference seeds are sources like the landed filings, so they sit in `raw`; the delivery accounting in `quality`.
GROUP_BY_FOLDER = {"staging": "staging", "intermediate": "staging", "core": "core", "evaluation": "evaluation",
                   "ops": "quality"}


def group_for(fqn: list[str], resource_type: str) -> str:
    """The asset group of a dbt node from its fully qualified name (project, folders…, name)."""
    if resource_type == "seed":
        return "raw"
    for folder in reversed(fqn[1:-1]):
        if folder in GROUP_BY_FOLDER:
            return GROUP_BY_FOLDER[folder]
    return "core"


class NdcTranslator(DagsterDbtTranslator):
    """Keys are `[schema, name]` (the relation BI would query); groups follow the model layers."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id)
        if node is None:  # a source: its key comes from meta.dagster.asset_key (the raw asset)
            return spec
        return spec.replace_attributes(
            key=dg.AssetKey([node["schema"], node["name"]]),
            group_name=group_for(node["fqn"], node["resource_type"]),
            owners=OWNERS,
            kinds={"dbt", "duckdb"},
        )

    def get_partitions_def(self, dbt_resource_props: Mapping[str, Any]) -> dg.PartitionsDefinition | None:
        # The incremental facts are partitioned by reporting year; every other model is rebuilt whole each run.
        return YEARS if dbt_resource_props.get("config", {}).get("materialized") == "incremental" else None


@cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def published_models(manifest_path: Path = MANIFEST) -> list[dg.AssetKey]:
    """Every model BI reads (the published schemas), in the manifest's order."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return [
        dg.AssetKey([node["schema"], node["name"]])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in PUBLISHED_SCHEMAS
    ]


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Run a block with these environment variables set (dbt's subprocess starts inside the block)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def dbt_build_args(full_refresh: bool = False, period_vars: Mapping[str, int] | None = None,
                   engine_vars: Mapping[str, Any] | None = None) -> list[str]:
    """`dbt build` for a pipeline run. Unit tests check the models' logic on fixtures, not the data: they run in
    `make test` (tests/dbt/test_unit_tests.py), not in every nightly run. `period_vars` restrict the incremental
    facts to some reporting years (orchestration/partitions.py); a full refresh always rebuilds every year.
    `engine_vars` are what a target other than DuckDB needs (the raw locations on Spark)."""
    args = ["build", "--exclude-resource-type", "unit_test", *(["--full-refresh"] if full_refresh else [])]
    dbt_vars = {**(period_vars if period_vars and not full_refresh else {}), **(engine_vars or {})}
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    return args


def prune_run_folders(runs: Path, keep: int, current: Path) -> list[Path]:
    """Remove all but the `keep` newest run folders under `runs` (the current run's is always kept)."""
    folders = sorted((p for p in runs.glob("*") if p.is_dir() and p != current), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    removed = folders[max(keep - 1, 0):]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


class DbtRunConfig(dg.Config):
    full_refresh: bool = False


def _check_manifest() -> None:
    if not MANIFEST.exists():
        raise FileNotFoundError(f"{MANIFEST} is missing: run `make install` (it builds the dbt manifest ahead of time)")


@cache
def dbt_models() -> dg.AssetsDefinition:
    _check_manifest()

    @dbt_assets(manifest=MANIFEST, dagster_dbt_translator=NdcTranslator(), project=dbt_project(), name=DBT_ASSETS_NAME,
                backfill_policy=SINGLE_RUN)
    def _models(context: dg.AssetExecutionContext, dbt: DbtCliResource, ndc: NdcResource, run_lock: RunLockResource,
                config: DbtRunConfig):
        settings = ndc.settings
        first, last = run_years(context.run.tags)
        if first:
            context.log.info(f"reporting years {first}-{last}: " + ("every year (full refresh)" if config.full_refresh
                             else "the incremental facts take only these years' filings"))
        engine_vars = None
        if settings.builds_on_spark:
            from warehouse.spark import dbt_vars, raw_locations

            engine_vars = dbt_vars(raw_locations(settings.build_db, RawStore(settings.raw), settings.home))
        args = dbt_build_args(config.full_refresh, dbt_period_vars(first, last), engine_vars)
        target = settings.dbt_runs / context.run.run_id
        context.log.info(f"dbt's compiled SQL, results and log for this run: {target}")
        try:
            with environment(settings.child_environment()):
                invocation = dbt.cli(args, target_path=target, context=context)
                yield from invocation.stream()
        finally:
            prune_run_folders(settings.dbt_runs, keep=DBT_RUNS_KEPT, current=target)
        if settings.builds_on_spark:
            from warehouse.spark import import_models

            # The gates and publication read the build DuckDB whichever engine built the models.
            tables = import_models(settings.build_db, settings.home, MANIFEST)
            context.log.info(f"read {len(tables)} tables ({sum(t.rows for t in tables)} rows) Spark wrote into "
                             f"{settings.build_db}")

    return _models


class NdcDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two things it does before every `dbt build` that this project never uses.

    - It learns dbt's version by running `dbt --version`, which asks PyPI for the latest dbt-core and dbt-duckdb:
      2.5 s with internet, and up to two request timeouts on a machine without it. The installed dbt-core's
      version is the same answer, read from its package metadata.
    - It opens a dbt adapter inside the run's process (importing dbt and loading its macros, about 1.5 s), which
      only `fetch_row_counts` and `fetch_column_metadata` need. Row counts come from the gates and publication.

    Both are private members of dagster-dbt; its version is pinned exactly in pyproject.toml, and
    tests/orchestration/test_definitions.py checks that a `dbt build` in a run still works and spawns no
    `dbt --version`."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    return NdcDbtCli(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[dbt_models()])
