"""Run a Great Expectations suite against a DuckDB table, computed inside DuckDB.

GX 1.24 reaches DuckDB through SQLAlchemy (duckdb-engine). Out of the box every expectation fails with a metric
resolution error: GX closes its SQLAlchemy connection before it reads the rows, and DuckDB's rollback on close
discards the pending result. GX already keeps one connection open for the dialects it knows need it (sqlite); we
add DuckDB to that list for this process. If a future GX changes this, the run fails loudly (see
`_raise_on_engine_errors`), it never passes silently.

Great Expectations is imported here, lazily, never at code-location load (the import alone takes seconds).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLE_SIZE = 5  # unexpected values shown per failed expectation


@dataclass(frozen=True)
class FailedExpectation:
    expectation: str  # e.g. "expect_compound_columns_to_be_unique"
    columns: str  # what it looked at, e.g. "uscc, period"
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        count = "" if self.unexpected_count is None else f": {self.unexpected_count} unexpected rows"
        sample = f", e.g. {self.sample}" if self.sample else ""
        return f"{self.expectation}({self.columns}){count}{sample}"


@dataclass(frozen=True)
class GateResult:
    suite: str
    table: str
    passed: bool
    evaluated: int
    failures: list[FailedExpectation]
    docs_index: str | None = None  # file:// URL of the Data Docs site
    docs_page: str | None = None  # file:// URL of this validation's page

    def summary(self) -> str:
        if self.passed:
            return f"{self.suite}: {self.evaluated} expectations passed on {self.table}"
        lines = [f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed on {self.table}"]
        lines += [f"  - {f.describe()}" for f in self.failures]
        return "\n".join(lines)


class GateEngineError(RuntimeError):
    """Great Expectations could not evaluate an expectation: the gate is broken, not the data."""


def _keep_duckdb_connection_open() -> None:
    import great_expectations.execution_engine.sqlalchemy_execution_engine as engine_module

    class _Dialect(str):
        value = "duckdb"  # GX compares `.value` of each entry with the URL scheme and the dialect name

    if not any(getattr(d, "value", None) == "duckdb" for d in engine_module._PERSISTED_CONNECTION_DIALECTS):
        engine_module._PERSISTED_CONNECTION_DIALECTS += (_Dialect("duckdb"),)


def validate_table(
    db_path: Path,
    table: str,
    suite_name: str,
    build_expectations: Callable[[Any], Sequence[Any]],
    docs_dir: Path | None = None,
) -> GateResult:
    """Validate `table` ("schema.name") of the DuckDB file at `db_path`, opened read-only.

    `build_expectations(gxe)` returns the suite's expectations, given the `great_expectations.expectations`
    module, so suites can be declared without importing GX at module level.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _keep_duckdb_connection_open()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_sql(
        name=f"warehouse_{uuid.uuid4().hex[:8]}",
        connection_string=f"duckdb:///{Path(db_path).as_posix()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        # The qualified name goes in table_name: GX's schema_name path cannot reflect DuckDB columns.
        asset = source.add_table_asset(name=table.replace(".", "__"), table_name=table)
        batch = asset.add_batch_definition_whole_table("whole_table")
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name, expectations=list(build_expectations(gxe))))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite_name}_on_{table}", data=batch, suite=suite)
        )
        if docs_dir is not None:
            context.add_data_docs_site(
                site_name="ndc",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        result = definition.run(result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE})
    finally:
        # GX holds two engines; both must let go of the file, or the next dbt build cannot write it.
        source.get_execution_engine().close()
        source.get_engine().dispose()

    _raise_on_engine_errors(result, table)
    failures = [_failure(r) for r in result.results if not r.success]
    docs_index = docs_page = None
    if docs_dir is not None:
        docs_index = context.build_data_docs(site_names=["ndc"])["ndc"]
        key = next(k for k in context.validation_results_store.list_keys() if k.run_id == result.meta["run_id"])
        docs_page = context.get_docs_sites_urls(resource_identifier=key, site_name="ndc")[0]["site_url"]
    return GateResult(
        suite=suite_name,
        table=table,
        passed=bool(result.success),
        evaluated=len(result.results),
        failures=failures,
        docs_index=docs_index,
        docs_page=docs_page,
    )


def _raise_on_engine_errors(result: Any, table: str) -> None:
    for r in result.results:
        info = r.exception_info or {}
        nested = [info, *info.values()] if isinstance(info, dict) else []
        for entry in nested:
            if isinstance(entry, dict) and entry.get("raised_exception"):
                raise GateEngineError(
                    f"{r.expectation_config.type} on {table} could not be evaluated: {entry.get('exception_message')}"
                )


def _failure(r: Any) -> FailedExpectation:
    kwargs = r.expectation_config.kwargs
    columns = kwargs.get("column") or ", ".join(kwargs.get("column_list") or []) or ", ".join(
        str(kwargs[k]) for k in ("column_A", "column_B") if k in kwargs
    )
    res = r.result or {}
    sample = [_plain(v) for v in (res.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]
    return FailedExpectation(r.expectation_config.type, columns, res.get("unexpected_count"), sample)


def _plain(value: Any) -> Any:
    """Values that print and serialise cleanly (decimals, dates and tuples from the engine)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)
