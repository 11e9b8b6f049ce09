"""dbt models as assets, from the manifest built ahead of time (`make install`; never parsed at load).

Two multi-assets: `dbt_models`, every model but the quarterly flash reports' (year partitions on the incremental
facts), and `dbt_quarterly_models`, the models tagged `quarterly` in dbt, partitioned by quarter
(orchestration/quarterly.py says what a quarter's run rebuilds)."""


import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test
from packaging.version import Version

from ingestion.durable import temporary_beside
from ingestion.escaping import excerpt, printable
from ingestion.landing import RawStore
from orchestration import build_mark
from orchestration.partitions import (
    QUARTER_TO_YEAR,
    QUARTERS,
    SINGLE_RUN,
    YEARS,
    dbt_period_vars,
    quarter_key,
    record_rows_by_partition,
    run_years,
)
from orchestration.dbt_in_home import DATABASE_ENV, WORKDIR_ENV
from orchestration.environment import names_a_machine_failure
from orchestration.fingerprint import dbt_project_state
from orchestration.resources import NdcResource, RunLockResource
from orchestration.seeds import mark_loaded, seed_fingerprints, seeds_unchanged, unmark
from orchestration.settings import DBT_PROJECT_DIR
from warehouse.publish import PUBLISHED_SCHEMAS

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
DBT_ASSETS_NAME = "dbt_models"  # the op that runs `dbt build`; run config addresses it by this name
QUARTERLY_ASSETS_NAME = "dbt_quarterly_models"  # the op that builds the quarterly models for a quarter's run
# The dbt tag of the quarterly flash reports' models (their yml files): their own multi-asset, partitioned by quarter.
QUARTERLY_TAG = "quarterly"
# dbt_assets' default selection, every node of the project: a run of every model selects it, quarterly ones too.
EVERY_NODE = "fqn:*"
OWNERS = ["team:data-platform"]
# How many runs' dbt folders ($NDC_HOME/dbt/runs/<run id>) are kept: each holds about 12 MB (compiled SQL, results,
# dbt's log), which a nightly schedule would otherwise pile up.
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


# The one asset check per model that reports all of its dbt data tests (see NdcTranslator).
DBT_TESTS_CHECK = "dbt_tests"
FAILING_STATUSES = ("fail", "error", "warn")  # a data test's statuses in run_results.json other than pass/skipped
ERROR_EXCERPT_CHARS = 200  # how much of a failed node's error message a check or the run's report shows


class NdcTranslator(DagsterDbtTranslator):
    """Keys are `[schema, name]` (the relation BI would query); groups follow the model layers.

    dbt's data tests are not one asset check each (dagster-dbt's default): 136 tests made about 400 events per run
    (each check planned, output and evaluated). Each model with tests has one check, `dbt_tests`, blocking when
    any of its tests has severity error, whose result names every failing test and its failing rows count
    (`dbt_test_results`). dbt itself still runs every test inside `dbt build` and skips what depends on a failure."""

    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=False))
        self._tests: dict[dg.AssetKey, list[Mapping[str, Any]]] | None = None

    def tests_by_asset(self, manifest: Mapping[str, Any], project: DbtProject | None) -> dict[dg.AssetKey, list]:
        """Every data test by the asset it is attached to (as dagster-dbt attaches a test to a check)."""
        if self._tests is None:
            self._tests = {}
            for unique_id, node in manifest["nodes"].items():
                if node["resource_type"] != "test":
                    continue
                key = get_asset_check_key_for_test(manifest, self, unique_id, project)
                if key is not None:
                    self._tests.setdefault(key.asset_key, []).append(node)
        return self._tests

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        tests = self.tests_by_asset(manifest, project).get(asset_spec.key)
        if not tests or unique_id not in {t["unique_id"] for t in tests}:
            return None
        parents = {parent for test in tests for parent in test["depends_on"]["nodes"]}
        deps = {self.get_asset_spec(manifest, parent, project).key for parent in parents} - {asset_spec.key}
        names = sorted(t["name"] for t in tests)
        return dg.AssetCheckSpec(
            DBT_TESTS_CHECK,
            asset=asset_spec.key,
            description=f"dbt's {len(names)} data tests on this model, run by `dbt build`; fails naming each "
            "failing test and its failing rows.",
            additional_deps=deps,
            blocking=any((t["config"].get("severity") or "error").lower() == "error" for t in tests),
            metadata={"dbt_tests": dg.MetadataValue.json(names)},
        )

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
        # The quarterly models are partitioned by quarter, the incremental facts by reporting year; every other model
        # is rebuilt whole each run, or, like the latest filings (meta years: all), takes every year's new rows.
        if is_quarterly(dbt_resource_props):
            return QUARTERS
        config = dbt_resource_props.get("config", {})
        by_year = config.get("materialized") == "incremental" and config.get("meta", {}).get("years") != "all"
        return YEARS if by_year else None

    def get_partition_mapping(self, dbt_resource_props: Mapping[str, Any],
                              dbt_parent_resource_props: Mapping[str, Any]) -> dg.PartitionMapping | None:
        # A quarter reads its year of the raw assets (a quarterly report's `period` is its year).
        if is_quarterly(dbt_resource_props) and dbt_parent_resource_props.get("resource_type") == "source":
            return QUARTER_TO_YEAR
        return super().get_partition_mapping(dbt_resource_props, dbt_parent_resource_props)


def is_quarterly(dbt_resource_props: Mapping[str, Any]) -> bool:
    return QUARTERLY_TAG in (dbt_resource_props.get("tags") or [])


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


def build_environment(settings) -> dict[str, str]:
    """dbt's environment in a pipeline run: the settings, and the build database named relatively to the folder
    `ndc-dbt` starts dbt in, so that the parse `make install` saved holds in every home."""
    return {**settings.child_environment(), WORKDIR_ENV: str(settings.build_db.parent),
            DATABASE_ENV: settings.build_db.name}


def dbt_build_args(full_refresh: bool = False, engine_vars: Mapping[str, Any] | None = None,
                   skip_seeds: bool = False) -> list[str]:
    """`dbt build` for a pipeline run. Unit tests check the models' logic on fixtures, not the data: they run in
    `make test` (tests/dbt/test_unit_tests.py), not in every nightly run. `engine_vars` are what a target other
    than DuckDB needs (the raw locations on Spark). `skip_seeds`: the build database holds the seeds as they are
    (orchestration/seeds.py); their tests still run."""
    args = ["build", "--exclude-resource-type", "unit_test", *(["seed"] if skip_seeds else []),
            *(["--full-refresh"] if full_refresh else [])]
    if engine_vars:
        args += ["--vars", json.dumps(dict(engine_vars), sort_keys=True)]
    return args


def period_environment(full_refresh: bool = False, period_vars: Mapping[str, int] | None = None) -> dict[str, str]:
    """What restricts the incremental facts to some reporting years (orchestration/partitions.py), for dbt's
    environment: `NDC_RUN_PERIOD_FROM`/`_TO`, read by the macro `period_bound` when the SQL runs. Passed as dbt
    vars they would make every run over other years parse the whole project again. A full refresh always
    rebuilds every year; both are set, empty, when a run is not restricted, so nothing from outside leaks in."""
    window = period_vars if period_vars and not full_refresh else {}
    return {f"NDC_RUN_{bound.upper()}": str(window.get(bound, "")) for bound in ("period_from", "period_to")}


TEST_SCOPE_ENV = "NDC_RUN_TEST_SCOPE"


def test_scope_environment(changed_only: bool) -> dict[str, str]:
    """Whether the data tests that hold enterprise by enterprise take only the enterprises this build computed
    again (dbt_project/macros/test_scope.sql): `changed`, or `all`. Always set, so nothing from outside leaks in."""
    return {TEST_SCOPE_ENV: "changed" if changed_only else "all"}


def prune_run_folders(runs: Path, keep: int, current: Path) -> list[Path]:
    """Remove all but the `keep` newest run folders under `runs` (the current run's is always kept)."""
    folders = sorted((p for p in runs.glob("*") if p.is_dir() and p != current), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    removed = folders[max(keep - 1, 0):]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


PARTIAL_PARSE = "partial_parse.msgpack"


@contextmanager
def reusing_parse(cache: Path, target: Path) -> Iterator[None]:
    """Start dbt from the project as this home's last build parsed it, and keep what this build parsed.

    Every home's runs name the build database alike (`build_environment`), so the project's own
    `target/partial_parse.msgpack` from `make install`, which dagster-dbt copies into a run that brings none, holds
    from a home's first run on. The home keeps what its last build parsed on top of that (models edited since the
    install, files whose environment changed), so it is not read again in every run. dbt itself decides whether a
    saved parse still holds (same files, vars, profile and dbt version) and re-reads only what changed; a cache
    that is stale, torn or from another dbt costs one full parse, never a wrong build."""
    target.mkdir(parents=True, exist_ok=True)
    if cache.is_file():
        shutil.copyfile(cache, target / PARTIAL_PARSE)
    yield
    parsed = target / PARTIAL_PARSE
    if parsed.is_file():
        partial = temporary_beside(cache)
        shutil.copyfile(parsed, partial)
        os.replace(partial, cache)


class DbtRunConfig(dg.Config):
    full_refresh: bool = False


def _check_manifest() -> None:
    if not MANIFEST.exists():
        raise FileNotFoundError(f"{MANIFEST} is missing: run `make install` (it builds the dbt manifest ahead of time)")


@cache
def manifest() -> Mapping[str, Any]:
    _check_manifest()
    return json.loads(MANIFEST.read_bytes())


def rows_by_partition(build_db: Path, keys: Sequence[dg.AssetKey], by_quarter: bool = False
                      ) -> dict[dg.AssetKey, dict[str, int]]:
    """Each relation's rows per partition, read from the build database once dbt has let go of it: per reporting
    year (`period`), or per quarter (`period` and `quarter`, as "2023-Q3")."""
    if not keys:
        return {}
    columns = "period, quarter" if by_quarter else "period"
    counts: dict[dg.AssetKey, dict[str, int]] = {}
    with duckdb.connect(str(build_db), read_only=True) as con:
        for key in keys:
            rows = con.execute(f'SELECT {columns}, count(*) FROM "{key.path[0]}"."{key.path[1]}" '
                               f"GROUP BY {columns}").fetchall()
            counts[key] = {(quarter_key(*row[:2]) if by_quarter else str(row[0])): row[-1] for row in rows}
    return counts


def _run_results(target: Path) -> list[Mapping[str, Any]]:
    """The results of every node dbt ran (its run_results.json), or none when dbt stopped before writing them."""
    try:
        return json.loads((target / "run_results.json").read_bytes())["results"]
    except (FileNotFoundError, ValueError, KeyError):
        return []


ERROR_STATUSES = ("fail", "error", "runtime error")  # a node dbt failed, in run_results.json


def _failed(results: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in results if r.get("status") in ERROR_STATUSES]


def _reported(checks: list[dg.AssetCheckResult]) -> set[str]:
    """The unique ids of the failing tests these `dbt_tests` results name."""
    return {test["unique_id"] for check in checks
            for test in getattr(check.metadata["failed"], "value", check.metadata["failed"])}


def reported_every_failure(results: list[Mapping[str, Any]], checks: list[dg.AssetCheckResult]) -> bool:
    """Whether dbt's failures are all failing data tests that these `dbt_tests` results report."""
    failed = {r["unique_id"] for r in _failed(results)}
    return bool(failed) and failed <= _reported(checks)


class DbtBuildFailed(Exception):
    """`dbt build` failed otherwise than by data tests a `dbt_tests` check reports: names each node that failed."""


def unreported_failures(results: list[Mapping[str, Any]], manifest: Mapping[str, Any],
                        checks: list[dg.AssetCheckResult]) -> list[str]:
    """One line per node dbt failed (a model or seed in error, a test failing or in error) that none of these
    `dbt_tests` results reports: e.g. a quarterly model's test in a run of every other model, or a model's SQL."""
    reported = _reported(checks)
    nodes = manifest["nodes"]
    return [f"{node['resource_type']} {_failure_line(result, node)}"
            for result in _failed(results) if result["unique_id"] not in reported
            for node in [nodes.get(result["unique_id"]) or {"name": result["unique_id"], "resource_type": "node"}]]


# The line dbt puts before a node's error ("Runtime Error in model ingest_accounting (models/ops/….sql)"): it names
# the node, which the report's line names already; the error itself is on the next line.
DBT_ERROR_HEADER = re.compile(r"(Runtime|Database|Compilation|Parsing) Error in \w+ \S+ \(.*\)")


def _failure_line(result: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    rows = result.get("failures")
    what = f"{rows} failing row{'s' if rows != 1 else ''}" if rows is not None else result["status"]
    message = [line.strip() for line in (result.get("message") or "").splitlines() if line.strip()]
    if len(message) > 1 and DBT_ERROR_HEADER.fullmatch(message[0]):
        message = message[1:]
    # The first line of the error (a full disk says so there), which can quote a delivered value: escaped and cut
    # like any delivered text.
    errored = result["status"] in ("error", "runtime error")
    detail = f" ({excerpt(message[0], ERROR_EXCERPT_CHARS)})" if errored and message else ""
    return f"{node['name']}: {what}{detail}"


def machine_failure(results: list[Mapping[str, Any]]) -> str | None:
    """The whole line of a failed node's error that says the machine failed (a full disk, a file it cannot write, a
    corrupt database), escaped: the report's lines cut each error, and `ndc run` tells such a failure apart from the
    data's by this wording and the file it names (orchestration/environment.py)."""
    for result in _failed(results):
        for line in (result.get("message") or "").splitlines():
            if names_a_machine_failure(line):
                return printable(line.strip())
    return None


def dbt_test_results(results: list[Mapping[str, Any]], translator: NdcTranslator, manifest: Mapping[str, Any],
                     selected: set[dg.AssetCheckKey]) -> list[dg.AssetCheckResult]:
    """One `dbt_tests` result per model whose tests ran: passed when none failed; otherwise each failing test with
    its failing rows count, severity ERROR when a test of severity error failed (which blocks publication)."""
    by_id = {r["unique_id"]: r for r in results}
    checks = []
    for key, tests in translator.tests_by_asset(manifest, None).items():
        check_key = dg.AssetCheckKey(key, DBT_TESTS_CHECK)
        ran = [(by_id[t["unique_id"]], t) for t in tests
               if t["unique_id"] in by_id and by_id[t["unique_id"]]["status"] != "skipped"]
        if check_key not in selected or not ran:
            continue
        failed = [(r, t) for r, t in ran if r["status"] in FAILING_STATUSES]
        errors = [(r, t) for r, t in failed if r["status"] != "warn"]
        rows = sum(r.get("failures") or 0 for r, _ in failed)
        description = (f"{len(failed)} of {len(ran)} dbt tests failed:\n" +
                       "\n".join(_failure_line(r, t) for r, t in failed)) if failed else f"{len(ran)} dbt tests passed"
        checks.append(dg.AssetCheckResult(
            asset_key=key,
            check_name=DBT_TESTS_CHECK,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
            description=description,
            metadata={
                "tests_run": len(ran),
                "tests_failed": len(failed),
                "failing_rows": rows,
                "failed": dg.MetadataValue.json([{"test": t["name"], "unique_id": t["unique_id"], "status": r["status"],
                                                  "failing_rows": r.get("failures"), "message": r.get("message")}
                                                 for r, t in failed]),
                "seconds": round(sum(r.get("execution_time") or 0 for r, _ in ran), 2),
            },
        ))
    return checks


def _engine_vars(settings) -> dict[str, Any] | None:
    """What a target other than DuckDB needs in dbt's vars (the raw locations on Spark)."""
    if not settings.builds_on_spark:
        return None
    from warehouse.spark import dbt_vars, raw_locations

    return dbt_vars(raw_locations(settings.build_db, RawStore(settings.raw), settings.home))


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings, translator: NdcTranslator,
           args: list[str], dbt_environment: Mapping[str, str], target: Path, by_quarter: bool,
           quarterly_too: bool = False) -> Iterator[Any]:
    """One `dbt build` of the multi-asset's selected models, its outputs and its `dbt_tests` check results; raises
    dbt's error when it failed otherwise than by tests a check reports.

    `quarterly_too`: the same `dbt build` also builds the quarterly models, which are not this multi-asset's (a run
    of every other model: `ndc run`, the nightly rebuild). dagster-dbt adds the multi-asset's own selection to any
    `--select` given here, and its `--exclude tag:quarterly` would win over it; so that invocation gets no Dagster
    context: it selects every node, and its events are mapped here to this multi-asset's outputs, while each
    quarterly model dbt built is recorded with every quarter (`quarters_rebuilt`)."""
    # The partitioned models' outputs wait for dbt to end: then each partition's rows are counted in the build
    # database (dbt holds it open until then) and given to that partition's materialization. What follows the first
    # of them waits too, since Dagster takes a multi-asset's outputs only in dependency order. On Spark the models
    # reach the build database only later, so they carry no row count.
    held: list[Any] = []
    partitioned: list[dg.AssetKey] = []
    quarterly: list[dg.AssetKey] = []
    with environment(dbt_environment), reusing_parse(settings.dbt_parse_cache, target):
        if quarterly_too:
            invocation = dbt.cli([*args, "--select", EVERY_NODE], target_path=target, manifest=manifest(),
                                 dagster_dbt_translator=translator, raise_on_error=False)
        else:
            invocation = dbt.cli(args, target_path=target, context=context, raise_on_error=False)
        # With tests not asset checks, dagster-dbt reports each test as an observation: summarised below.
        for event in invocation.stream():
            if isinstance(event, dg.AssetObservation):
                continue
            if isinstance(event, dg.AssetMaterialization):  # a model dbt built, from the invocation without context
                if event.asset_key in quarterly_models().keys:
                    quarterly.append(event.asset_key)
                    continue
                if event.asset_key not in context.selected_asset_keys:
                    yield event
                    continue
                event = dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(event.asset_key),
                                  metadata=event.metadata)
            key = context.asset_key_for_output(event.output_name) if isinstance(event, dg.Output) else None
            if key and not settings.builds_on_spark and context.assets_def.specs_by_key[key].partitions_def:
                partitioned.append(key)
            if partitioned:
                held.append(event)
            else:
                yield event
    for key, counts in rows_by_partition(settings.build_db, partitioned, by_quarter).items():
        record_rows_by_partition(context, key, counts)
    yield from held
    yield from quarters_rebuilt(settings, quarterly)
    results = _run_results(target)
    checks = dbt_test_results(results, translator, manifest(), context.selected_asset_check_keys)
    yield from checks
    error = invocation.get_error()
    # Failing tests a `dbt_tests` check reported fail the step as blocking checks, naming the tests; any other
    # failed node (a model, a seed, a test no check reports, such as a quarterly model's in a run of every other
    # model) fails it naming each node; dbt stopping before it wrote any result fails it as dbt's error.
    if error and not reported_every_failure(results, checks):
        failures = unreported_failures(results, manifest(), checks)
        if failures:
            machine = machine_failure(results)
            raise DbtBuildFailed(f"dbt build failed ({len(failures)} node{'s' if len(failures) != 1 else ''}; "
                                 f"its log: {target / 'dbt.log'}):\n" + "\n".join(failures)
                                 + (f"\nthe machine, not the data: {machine}" if machine else "")) from error
        raise error


def quarters_rebuilt(settings, built: Sequence[dg.AssetKey]) -> Iterator[dg.AssetMaterialization]:
    """Every quarter of each quarterly model dbt built in a run of every other model, each with its own row count:
    they are tables rebuilt whole, so every quarter was rebuilt. Read from the build database once dbt has ended."""
    keys = sorted(set(built), key=lambda k: k.to_user_string())
    counts = {} if settings.builds_on_spark else rows_by_partition(settings.build_db, keys, by_quarter=True)
    for key in keys:
        for quarter in QUARTERS.get_partition_keys():
            metadata = {"dagster/row_count": counts[key].get(quarter, 0)} if key in counts else {}
            yield dg.AssetMaterialization(asset_key=key, partition=quarter, metadata=metadata,
                                          description=f"rebuilt by {DBT_ASSETS_NAME} with every other model")


def _import_from_spark(context: dg.AssetExecutionContext, settings) -> None:
    from warehouse.spark import import_models

    # The gates and publication read the build DuckDB whichever engine built the models.
    tables = import_models(settings.build_db, settings.home, MANIFEST)
    context.log.info(f"read {len(tables)} tables ({sum(t.rows for t in tables)} rows) Spark wrote into "
                     f"{settings.build_db}")


def _rebuild_whole(context: dg.AssetExecutionContext, settings, asked: bool) -> tuple[bool, str | None]:
    """Whether this build rebuilds every model whole (`--full-refresh`), and the project state to record once it
    built every model (orchestration/build_mark.py); None when it records nothing (Spark, a selection)."""
    if settings.builds_on_spark:
        return asked, None
    project = dbt_project_state()
    recorded = build_mark.built_with(settings.build_db)
    if context.is_subset:
        if recorded is not None and recorded != project:
            build_mark.forget(settings.build_db)  # some models are now built by this project, others not
        return asked, None
    if recorded == project or asked or not settings.build_db.is_file():
        return asked, project
    build_mark.forget(settings.build_db)
    context.log.warning(
        ("the build database records no dbt project its incremental models were built by"
         if recorded is None else "the dbt project (or dbt, or DuckDB) changed since the incremental models were built")
        + ": every model is rebuilt whole (--full-refresh), so that no row computed by another project is kept")
    return True, project


def _tests_scoped(settings, project: str | None, full_refresh: bool) -> bool:
    """Whether the data tests that hold enterprise by enterprise take only the enterprises this build computes again
    (dbt_project/macros/test_scope.sql): when the last build built every model and passed every test, and this one
    builds every node incrementally on DuckDB under the project recorded (`project` is None for a selection and on
    Spark). The record is taken away whatever is decided: the rows this build writes are not tested yet."""
    tested = build_mark.take_tests_record(settings.build_db)
    return tested and project is not None and not full_refresh


@cache
def dbt_models() -> dg.AssetsDefinition:
    _check_manifest()
    translator = NdcTranslator()

    @dbt_assets(manifest=MANIFEST, dagster_dbt_translator=translator, project=dbt_project(), name=DBT_ASSETS_NAME,
                exclude=f"tag:{QUARTERLY_TAG}", backfill_policy=SINGLE_RUN)
    def _models(context: dg.AssetExecutionContext, dbt: DbtCliResource, ndc: NdcResource, run_lock: RunLockResource,
                config: DbtRunConfig):
        settings = ndc.settings
        full_refresh, project = _rebuild_whole(context, settings, config.full_refresh)
        scoped_tests = _tests_scoped(settings, project, full_refresh)
        first, last = run_years(context.run.tags)
        if first:
            context.log.info(f"reporting years {first}-{last}: " + ("every year (full refresh)" if full_refresh
                             else "the incremental facts take only these years' filings"))
        # The reference seeds are loaded again only when they changed, in a build of every node on DuckDB.
        seeds = {} if settings.builds_on_spark else seed_fingerprints(manifest())
        reuse_seeds = (not context.is_subset and not full_refresh
                       and seeds_unchanged(settings.build_db, seeds))
        if seeds and not reuse_seeds:
            unmark(settings.build_db, seeds)
        args = dbt_build_args(full_refresh, _engine_vars(settings), skip_seeds=reuse_seeds)
        dbt_environment = {**build_environment(settings),
                           **period_environment(full_refresh, dbt_period_vars(first, last)),
                           **test_scope_environment(scoped_tests)}
        target = settings.dbt_runs / context.run.run_id
        context.log.info(f"dbt's compiled SQL, results and log for this run: {target}")
        if reuse_seeds:
            context.log.info(f"the {len(seeds)} reference seeds are as the build database holds them: not loaded again")
        context.log.info("data tests: those that hold enterprise by enterprise take only the enterprises this build "
                         "computes again" if scoped_tests else "data tests: every row")
        try:
            # Every model built (not a selection from the UI): the quarterly ones too, in the same `dbt build`.
            yield from _build(context, dbt, settings, translator, args, dbt_environment, target, by_quarter=False,
                              quarterly_too=not context.is_subset)
            results = _run_results(target)
            if seeds and not reuse_seeds:  # after a failed build the next one loads them again
                mark_loaded(settings.build_db, seeds, results)
            if project and build_mark.built_every_model(results):
                build_mark.record(settings.build_db, project, context.run.run_id)
                if build_mark.all_tests_passed(results):
                    build_mark.record_tests(settings.build_db, context.run.run_id)
        finally:
            prune_run_folders(settings.dbt_runs, keep=DBT_RUNS_KEPT, current=target)
        if settings.builds_on_spark:
            _import_from_spark(context, settings)

    return _models


@cache
def quarterly_models() -> dg.AssetsDefinition:
    """The quarterly flash reports' models for a quarter's run (job ndc_quarter). They are tables: the run rebuilds
    them whole, since a quarter's single-quarter figures come from the previous quarter and its growth from the same
    quarter a year before, and marks its quarter materialized with that quarter's row count."""
    _check_manifest()
    translator = NdcTranslator()

    @dbt_assets(manifest=MANIFEST, dagster_dbt_translator=translator, project=dbt_project(),
                name=QUARTERLY_ASSETS_NAME, select=f"tag:{QUARTERLY_TAG}", backfill_policy=SINGLE_RUN)
    def _quarterly(context: dg.AssetExecutionContext, dbt: DbtCliResource, ndc: NdcResource,
                   run_lock: RunLockResource, config: DbtRunConfig):
        settings = ndc.settings
        context.log.info(f"quarters {', '.join(context.partition_keys)}: the quarterly models are rebuilt whole")
        args = dbt_build_args(config.full_refresh, _engine_vars(settings))
        # No year window: the quarterly models are tables, never restricted to some years.
        dbt_environment = {**build_environment(settings), **period_environment(config.full_refresh),
                           **test_scope_environment(False)}
        target = settings.dbt_runs / context.run.run_id
        context.log.info(f"dbt's compiled SQL, results and log for this run: {target}")
        try:
            yield from _build(context, dbt, settings, translator, args, dbt_environment, target, by_quarter=True)
        finally:
            prune_run_folders(settings.dbt_runs, keep=DBT_RUNS_KEPT, current=target)
        if settings.builds_on_spark:
            _import_from_spark(context, settings)

    return _quarterly


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
        dbt_executable=str(Path(sys.executable).parent / "ndc-dbt"),
    )


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[dbt_models(), quarterly_models()])
