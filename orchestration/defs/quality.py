"""Quality gates: each Great Expectations suite as a blocking check on the model it guards."""


import dagster as dg

from expectations.suites import SUITES, Suite
from orchestration.resources import NdcResource


def gate(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(suite.table.split(".")),
        name=f"gx_{suite.name}",
        blocking=True,
        description=f"Great Expectations suite `{suite.name}` (expectations/suites.py); blocks publication on failure.",
    )
    def _gate(ndc: NdcResource) -> dg.AssetCheckResult:
        from expectations.runner import validate_table  # imports Great Expectations: only when a gate runs

        settings = ndc.settings
        result = validate_table(settings.build_db, suite.table, suite.name, suite.build, settings.quality_docs)
        metadata = {
            "expectations_evaluated": result.evaluated,
            "expectations_failed": len(result.failures),
            "failed": dg.MetadataValue.json(
                [
                    {"expectation": f.expectation, "columns": f.columns, "unexpected_count": f.unexpected_count, "sample": f.sample}
                    for f in result.failures
                ]
            ),
        }
        if result.docs_page:
            metadata["data_docs"] = dg.MetadataValue.url(result.docs_page)
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata=metadata,
        )

    return _gate


def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[gate(suite) for suite in SUITES.values()])
