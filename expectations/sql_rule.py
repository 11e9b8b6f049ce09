"""A rule written in SQL: the query selects the rows that break it, and the expectation holds when there are none.

Great Expectations' `UnexpectedRowsExpectation` evaluates such a query inside the engine, but it runs it twice on
every validation (once to count the rows, once to fetch them) and, with the usual result format, reports only the
count. This subclass counts first and fetches the first few rows only when the rule is broken, so a passing rule
costs one query and a failed gate can show what broke it, in the run's report and on the rule's Data Docs page (GX
draws no rows for its own expectation). Imported only when a gate runs (it imports GX).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation
from great_expectations.render import LegacyDiagnosticRendererType, RenderedTableContent
from great_expectations.render.renderer.renderer import renderer
from great_expectations.validator.metric_configuration import MetricConfiguration

SAMPLE_ROWS = 5


class ExpectNoRowsBreakingRule(UnexpectedRowsExpectation):
    # Subclassing and overriding `_validate` is GX's way to write a custom expectation; the private helpers used
    # below (`_get_result_format`, the engine's batch manager and `resolve_metrics`) are what its own
    # UnexpectedRowsExpectation calls, for the same result format and the same batch.
    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None):
        count = metrics["unexpected_rows_query.row_count"]
        result_format = self._get_result_format(runtime_configuration=runtime_configuration)
        if isinstance(result_format, dict):
            result_format = result_format.get("result_format")
        if result_format == "BOOLEAN_ONLY":
            return {"success": count == 0}
        result: dict[str, Any] = {"observed_value": count}
        if count and execution_engine is not None:
            result["details"] = {"unexpected_rows": self._sample(execution_engine)}
        return {"success": count == 0, "result": result}

    def _sample(self, execution_engine: Any) -> list[dict]:
        metric = MetricConfiguration(
            metric_name="unexpected_rows_query.table",
            metric_domain_kwargs={"batch_id": execution_engine.batch_manager.active_batch_id},
            metric_value_kwargs={"unexpected_rows_query": self.unexpected_rows_query},
        )
        rows = execution_engine.resolve_metrics([metric])[metric.id]
        return list(rows)[:SAMPLE_ROWS]

    @classmethod
    @renderer(renderer_type=LegacyDiagnosticRendererType.UNEXPECTED_TABLE)
    def _diagnostic_unexpected_table_renderer(cls, configuration: Any = None, result: Any = None,
                                              runtime_configuration: dict | None = None) -> list[Any] | None:
        """The sampled rows that broke the rule, as a table under the failed rule on its Data Docs page."""
        details = ((result.result or {}).get("details") or {}) if result is not None else {}
        rows = details.get("unexpected_rows") or []
        if not rows:
            return None
        header = list(rows[0])
        return [RenderedTableContent(
            content_block_type="table",
            header={"content_block_type": "string_template",
                    "string_template": {"template": f"Sample of the rows breaking the rule (first {len(rows)})",
                                        "tag": "h6"}},
            header_row=header,
            table=[["null" if row.get(c) is None else str(row.get(c)) for c in header] for row in rows],
            styling={"body": {"classes": ["table-bordered", "table-sm", "mt-3"]}},
        )]
