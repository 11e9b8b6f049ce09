"""Run Great Expectations suites against the DuckDB build database, computed inside DuckDB.

GX 1.24 reaches DuckDB through SQLAlchemy (duckdb-engine). Out of the box every expectation fails with a metric
resolution error: GX closes its SQLAlchemy connection before it reads the rows, and DuckDB's rollback on close
discards the pending result. GX already keeps one connection open for the dialects it knows need it (sqlite); we
add DuckDB to that list for this process. If a future GX changes this, the run fails loudly (see
`_raise_on_engine_errors`), it never passes silently.

A `GateSession` opens one GX context and one read-only connection for a batch of suites, and lets go of the file
when it closes: the next `dbt build` must be able to write it. Results are kept under `quality/` (validation results
and suites as JSON, Data Docs as HTML), the last KEEP_RUNS of each suite.

Great Expectations is imported here, lazily, never at code-location load (the import alone takes seconds).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from expectations.data_docs import make_offline
from expectations.deliveries import RECOVERY, Delivery, locate
from expectations.suite import Suite
from warehouse.memory import DEFAULT_MEMORY_LIMIT, duckdb_config

SAMPLE_SIZE = 5  # unexpected values shown per failed expectation
KEEP_RUNS = 10  # validation results (and their Data Docs pages) kept per suite; the index reads them all
DOCS_SITE = "ndc"


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str  # e.g. "expect_compound_columns_to_be_unique", or a SQL rule's name
    columns: str  # what it looked at, e.g. "uscc, period"; empty for a SQL rule
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        target = f"({self.columns})" if self.columns else ""
        count = "" if self.unexpected_count is None else f": {self.unexpected_count} unexpected rows"
        sample = f", e.g. {self.sample}" if self.sample else ""
        return f"{self.expectation}{target}{count}{sample}"

    def as_dict(self) -> dict[str, Any]:
        return {"expectation": self.expectation, "columns": self.columns, "unexpected_count": self.unexpected_count,
                "sample": self.sample}


@dataclass(frozen=True)
class GateResult:
    suite: str
    table: str
    passed: bool
    blocking: bool
    evaluated: int
    failures: list[FailedExpectation]
    seconds: float = 0.0
    docs_index: str | None = None  # file:// URL of the Data Docs site
    docs_page: str | None = None  # file:// URL of this validation's page
    deliveries: tuple[Delivery, ...] = ()  # where a blocking failure's sampled rows came from

    def summary(self) -> str:
        if self.passed:
            return f"{self.suite}: {self.evaluated} expectations passed on {self.table}"
        lines = [f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed on {self.table}"]
        lines += [f"  - {f.describe()}" for f in self.failures]
        if self.deliveries:
            lines.append(f"  the deliveries holding these rows: {RECOVERY}:")
            lines += [f"    {d.describe()}" for d in self.deliveries]
        return "\n".join(lines)


class GateEngineError(RuntimeError):
    """Great Expectations could not evaluate an expectation: the gate is broken, not the data."""


def _keep_duckdb_connection_open() -> None:
    # Private: GX 1.24 has no public setting for a persisted connection; it decides by this module tuple alone
    # (sqlite, mssql, bigquery, databricks). Without DuckDB in it every expectation fails (see the module docstring).
    import great_expectations.execution_engine.sqlalchemy_execution_engine as engine_module

    class _Dialect(str):
        value = "duckdb"  # GX compares `.value` of each entry with the URL scheme and the dialect name

    if not any(getattr(d, "value", None) == "duckdb" for d in engine_module._PERSISTED_CONNECTION_DIALECTS):
        engine_module._PERSISTED_CONNECTION_DIALECTS += (_Dialect("duckdb"),)


def _context(quality_dir: Path | None) -> Any:
    """An ephemeral GX context; with `quality_dir`, results, suites and Data Docs are kept there as files."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults())
    if quality_dir is not None:
        for store, folder in (("validation_results_store", "results"), ("expectations_store", "suites")):
            config.stores[store]["store_backend"] = {
                "class_name": "TupleFilesystemStoreBackend", "base_directory": str(quality_dir / folder)}
        config.data_docs_sites = {DOCS_SITE: {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(quality_dir / "docs")},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            # No footer of links to GX's tutorials (on its site): the pages are made to open offline (data_docs.py).
            "show_how_to_buttons": False,
        }}
    context = gx.get_context(project_config=config, mode="ephemeral")
    # A progress bar per validation would fill the run's log (ProgressBarsConfig is GX's own config, not exported).
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # Monkey-patch of a private method: an ephemeral context keeps nothing, yet serialises its whole configuration to
    # YAML after every asset and batch definition added (two per suite) and throws the text away: a fifth of the
    # gates' Python time at national scale. GX has no public switch; the configuration objects are updated as before.
    context._save_project_config = lambda: None
    return context


class GateSession:
    """Validate suites against one DuckDB file, opened read-only, in one GX context."""

    def __init__(self, db_path: Path, quality_dir: Path | None = None,
                 memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
        _keep_duckdb_connection_open()
        self.quality_dir = Path(quality_dir) if quality_dir is not None else None
        self.context = _context(self.quality_dir)
        self.source = self.context.data_sources.add_sql(
            name="warehouse",
            connection_string=f"duckdb:///{Path(db_path).as_posix()}",
            kwargs={"connect_args": {"read_only": True, "config": duckdb_config(memory_limit)}},
        )
        self._validated: list[tuple[GateResult, Any]] = []
        self._closed = False

    def __enter__(self) -> GateSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def validate(self, suite: Suite) -> GateResult:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.exceptions import DataContextError

        started = time.perf_counter()
        asset_name = f"{suite.name}_{uuid.uuid4().hex[:6]}"
        if suite.is_query:
            asset = self.source.add_query_asset(name=asset_name, query=suite.batch)
        else:
            # The qualified name goes in table_name: GX's schema_name path cannot reflect DuckDB columns.
            asset = self.source.add_table_asset(name=asset_name, table_name=suite.batch)
        batch = asset.add_batch_definition_whole_table("whole_table")
        expectations = list(suite.build(gxe))
        gx_suite = gx.ExpectationSuite(name=suite.name, expectations=expectations)
        # A suite kept from an earlier run is replaced whole: GX's add_or_update compares every expectation
        # pairwise, which costs seconds.
        with contextlib.suppress(DataContextError):  # none kept yet
            self.context.suites.delete(suite.name)
        gx_suite = self.context.suites.add(gx_suite)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}_{uuid.uuid4().hex[:6]}", data=batch, suite=gx_suite)
        )
        # A blocking suite usually passes, and pass/fail alone costs one bundled query per domain: its counts and
        # samples are fetched only when it failed, by validating it again (a blocked run need not be fast). A
        # warning suite often fails (drift is common), so it is validated once, with the details.
        detailed = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
        outcome = definition.run(result_format={"result_format": "BOOLEAN_ONLY"} if suite.blocking else detailed)
        if not outcome.success and suite.blocking:
            outcome = definition.run(result_format=detailed)
        _raise_on_engine_errors(outcome, suite.name)
        result = GateResult(
            suite=suite.name,
            table=_relations(suite),
            passed=bool(outcome.success),
            blocking=suite.blocking,
            evaluated=len(outcome.results),
            failures=[_failure(r) for r in outcome.results if not r.success],
            seconds=time.perf_counter() - started,
        )
        self._validated.append((result, outcome))
        return result

    def close(self) -> list[GateResult]:
        """Release the database, write the Data Docs of this session's results; return them with their links.
        Closing again does nothing."""
        if self._closed:
            return []
        self._closed = True
        # GX holds two engines; both must let go of the file, or the next dbt build cannot write it.
        self.source.get_execution_engine().close()
        self.source.get_engine().dispose()
        results = [result for result, _ in self._validated]
        if self.quality_dir is None or not self._validated:
            return results
        _prune(self.quality_dir, KEEP_RUNS)
        keys = self._result_keys([outcome for _, outcome in self._validated])
        # One build for the session's results, not a Checkpoint with UpdateDataDocsAction: that action rebuilds the
        # index, which reads every result kept, once per result (sample scale: 12 s for the two steps instead of 2 s),
        # and a Checkpoint has one result format for all its suites where blocking ones run pass/fail first.
        # The suites' pages too: each validation page links to its suite's.
        suites = list({k.expectation_suite_identifier.name: k.expectation_suite_identifier for k in keys}.values())
        index = self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=keys + suites)[DOCS_SITE]
        make_offline(self.quality_dir / "docs")
        linked = []
        for (result, _), key in zip(self._validated, keys):
            page = self.context.get_docs_sites_urls(resource_identifier=key, site_name=DOCS_SITE)[0]["site_url"]
            linked.append(_with_docs(result, index, page))
        self._validated = []
        return linked

    def _result_keys(self, outcomes: list[Any]) -> list[Any]:
        """The stored key of each result (listing the store reads every result kept, so it is listed once).

        From the store because `ValidationDefinition.run` returns the result but not the key it was stored under,
        and the key carries the batch identifier that names its Data Docs page."""
        stored = {(k.expectation_suite_identifier.name, k.run_id): k
                  for k in self.context.validation_results_store.list_keys()}
        return [stored[(outcome.suite_name, outcome.meta["run_id"])] for outcome in outcomes]


def _with_docs(result: GateResult, index: str, page: str) -> GateResult:
    return replace(result, docs_index=index, docs_page=page)


def _relation_names(suite: Suite) -> list[str]:
    """The relations a suite's batch reads: raw.zone_files and raw.zone_api for a family's channels."""
    if suite.reads:
        return list(suite.reads)
    if not suite.is_query:
        return [suite.batch]
    return list(dict.fromkeys(re.findall(r"\bFROM\s+([\w.]+)", suite.batch, flags=re.IGNORECASE)))


def _relations(suite: Suite) -> str:
    """What a suite's batch reads, for people: "raw.zone_files + raw.zone_api"."""
    return " + ".join(_relation_names(suite))


def validate_suites(db_path: Path, suites: list[Suite], quality_dir: Path | None = None,
                    memory_limit: str = DEFAULT_MEMORY_LIMIT) -> list[GateResult]:
    with GateSession(db_path, quality_dir, memory_limit) as session:
        for suite in suites:
            session.validate(suite)
        results = session.close()
    # Once the session let go of the file: the deliveries behind each blocking failure, for the operator to fix.
    by_name = {suite.name: suite for suite in suites}
    return [replace(r, deliveries=tuple(locate(db_path, _relation_names(by_name[r.suite]), r.failures, memory_limit)))
            if not r.passed and r.blocking and r.suite in by_name else r for r in results]


def _prune(quality_dir: Path, keep: int) -> None:
    """Keep the newest `keep` validation results of each suite, and their Data Docs pages."""
    results = quality_dir / "results"
    if not results.is_dir():
        return
    for suite_dir in results.iterdir():
        runs = sorted(p for p in suite_dir.glob("*/*") if p.is_dir())  # <run name>/<run time>, time-sortable
        for old in runs[: max(0, len(runs) - keep + 1)]:  # room for the result about to be written
            shutil.rmtree(old, ignore_errors=True)
            relative = old.relative_to(results)
            shutil.rmtree(quality_dir / "docs" / "validations" / relative, ignore_errors=True)


def _raise_on_engine_errors(result: Any, suite: str) -> None:
    for r in result.results:
        info = r.exception_info or {}
        nested = [info, *info.values()] if isinstance(info, dict) else []
        for entry in nested:
            if isinstance(entry, dict) and entry.get("raised_exception"):
                raise GateEngineError(
                    f"{r.expectation_config.type} in suite {suite} could not be evaluated: "
                    f"{entry.get('exception_message')}"
                )


def _failure(r: Any) -> FailedExpectation:
    config = r.expectation_config
    res = r.result or {}
    rule = (config.meta or {}).get("rule")
    if rule:  # a SQL rule: the count of rows it selected, and the first of them
        rows = (res.get("details") or {}).get("unexpected_rows") or []
        return FailedExpectation(rule, "", res.get("observed_value"), [_plain(row) for row in rows[:SAMPLE_SIZE]])
    kwargs = config.kwargs
    columns = kwargs.get("column") or ", ".join(kwargs.get("column_list") or []) or ", ".join(
        str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs
    )
    sample = [_plain(v) for v in (res.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]
    return FailedExpectation(config.type, columns, res.get("unexpected_count"), sample)


def _plain(value: Any) -> Any:
    """Values that print and serialise cleanly (decimals, dates and tuples from the engine)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)
