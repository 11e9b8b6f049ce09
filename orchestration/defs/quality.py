"""Quality gates: the Great Expectations suites (expectations/suites.py) as checks on the assets they guard.

The raw layer's suites run as one check step before dbt builds anything, the published models' suites as one step
after the build, each in one GX session. A blocking suite's check has
severity ERROR and stops everything downstream when it fails, publication included; a warning suite's check has
severity WARN and never stops anything.

The raw step judges, of each family, the deliveries landed since its last passing raw gate, where that is sound,
and every delivery otherwise (expectations/raw_scope.py); `ndc run --full-refresh` asks for every delivery
(`every_delivery` in the step's config).
"""


import threading
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import dagster as dg

from expectations import raw_scope
from expectations.published import REBUILT_YEARS
from expectations.suite import Suite
from expectations.suites import STAGES, for_stage
from orchestration.partitions import rebuilt_years, run_years
from orchestration.resources import NdcResource, RunLockResource
from orchestration.settings import Settings


@cache
def warm_up() -> threading.Thread:
    """Start importing Great Expectations in the background, once per process.

    The import is seconds of pure Python (GX's expectations pull in SciPy). Landing, which comes first in every run,
    spends its time in DuckDB and on files; the gate that follows it then finds GX imported instead of importing it
    on the critical path. A gate that starts before the import finished waits for the thread (`gates`).
    """
    thread = threading.Thread(target=_import_great_expectations, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


def _import_great_expectations() -> None:
    # The runner imports GX only when a session opens; the rules' expectation class needs GX's core at import.
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401

    import expectations.sql_rule  # noqa: F401


def served(file_url: str, settings: Settings) -> str | None:
    """The http:// address `ndc docs --serve` gives a file:// URL of Data Docs (browsers refuse file:// links)."""
    return settings.docs_url(Path(url2pathname(urlsplit(file_url).path)))


def check_metadata(result: Any, settings: Settings) -> dict[str, Any]:
    """What a failed check must say: which expectations, how many unexpected rows, a few values, and the docs (over
    HTTP, under NDC_DOCS_BASE_URL)."""
    metadata: dict[str, Any] = {
        "expectations_evaluated": result.evaluated,
        "expectations_failed": len(result.failures),
        "seconds": round(result.seconds, 2),
        "failed": dg.MetadataValue.json([f.as_dict() for f in result.failures]),
    }
    page = result.docs_page and served(result.docs_page, settings)
    index = result.docs_index and served(result.docs_index, settings)
    if page:
        metadata["data_docs"] = dg.MetadataValue.url(page)
    if index:
        metadata["data_docs_index"] = dg.MetadataValue.url(index)
    return metadata


def _judged(scope: raw_scope.RawScope | None, suite: Suite) -> dict[str, Any]:
    """What a raw family's blocking suite judged: every delivery, or those landed since its last passing gate."""
    family = scope and scope.families.get(suite.name.removeprefix("raw_"))
    return {"judged": family.describe()} if family and suite.blocking else {}


def _description(suite: Suite) -> str:
    effect = "blocks publication on failure" if suite.blocking else "warns, never blocks"
    return f"Great Expectations suite `{suite.name}` ({effect}). {suite.description}".strip()


def _check_key(suite: Suite, asset) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(dg.AssetKey(list(asset)), suite.check_name)


class GateConfig(dg.Config):
    every_delivery: bool = False  # the raw gate judges every landed delivery, not only those landed since it passed


def selected_suites(suites: list[Suite], selected: set[dg.AssetCheckKey]) -> list[Suite]:
    """The suites a step must evaluate: those with at least one of their checks in the step's selection."""
    return [suite for suite in suites if any(_check_key(suite, asset) in selected for asset in suite.assets)]


def op_name(stage: str) -> str:
    """The name of a stage's gate step (the key of its config in a run's `ops`)."""
    return f"gates_{stage}"


def gates(stage: str) -> dg.AssetChecksDefinition:
    suites = for_stage(stage)
    specs = [
        dg.AssetCheckSpec(suite.check_name, asset=dg.AssetKey(list(asset)), blocking=suite.blocking,
                          description=_description(suite))
        for suite in suites
        for asset in suite.assets
    ]

    # Subsettable: the UI launches any asset or selection with only the checks on it, and a gate step then
    # evaluates only the suites of the checks it was asked for.
    @dg.multi_asset_check(specs=specs, name=op_name(stage), can_subset=True,
                          description=f"Great Expectations: {', '.join(s.name for s in suites)}")
    # The run lock: the step writes under NDC_HOME (Data Docs, the raw gate's record), and no landing may add files
    # between the files the raw gate lists and those its views read.
    def _gates(context: dg.AssetCheckExecutionContext, ndc: NdcResource, config: GateConfig,
               run_lock: RunLockResource):
        selected = context.selected_asset_check_keys
        chosen = selected_suites(suites, selected)
        if not chosen:
            return
        # Two threads importing GX's package at once can meet its internal import cycles half done (Python's import
        # locks then hand one of them a partly initialised module), so the gate lets the warm-up finish first.
        warm_up().join()
        from expectations.runner import validate_suites  # imports Great Expectations: only when a gate runs

        settings = ndc.settings
        scope = None
        judged = chosen
        if stage == "raw":
            families = [s.name.removeprefix("raw_") for s in chosen if s.blocking]
            scope = raw_scope.begin(settings.raw, settings.quality, families, config.every_delivery)
            judged = scope.suites(chosen)
            context.log.info(f"raw gates judge {scope.describe()}")
        # A year backfill rebuilt only its years: other years' new records wait for their own run.
        token = REBUILT_YEARS.set(rebuilt_years(*run_years(context.run.tags)))
        try:
            results = {r.suite: r for r in validate_suites(settings.build_db, judged, settings.quality,
                                                           settings.duckdb_memory_limit)}
        finally:
            REBUILT_YEARS.reset(token)
        if scope is not None:
            raw_scope.finish(scope, settings.quality, raw_scope.passed_families(results.values(), judged))
        # Warnings first: a failed blocking result ends the step, and the warnings must still be recorded.
        for suite in sorted(chosen, key=lambda s: s.blocking):
            result = results[suite.name]
            if not result.passed:
                context.log.warning(result.summary())
            for asset in suite.assets:
                if _check_key(suite, asset) not in selected:
                    continue
                yield dg.AssetCheckResult(
                    asset_key=dg.AssetKey(list(asset)),
                    check_name=suite.check_name,
                    passed=result.passed,
                    severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
                    description=result.summary(),
                    metadata={**check_metadata(result, settings), **_judged(scope, suite)},
                )

    return _gates


def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[gates(stage) for stage in STAGES])
