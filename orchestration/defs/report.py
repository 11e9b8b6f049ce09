"""The evaluation report: rebuilt from the published marts after every publication."""


import dagster as dg

from orchestration import freshness
from orchestration.resources import NdcResource, RunLockResource


def evaluation_report_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=["published", "evaluation_report"],
        group_name="published",
        deps=[dg.AssetKey(["published", "serving_duckdb"])],
        kinds={"html", "plotly"},
        owners=["team:data-platform"],
        freshness_policy=freshness.PUBLISHED,
        description="reports/evaluation.html: zone ranking with the bottom decile marked, regions compared, "
        "technology flows between provinces and with parties abroad, HTE and SME funnels, trends by year, the green "
        "account and the quarterly flash reports, drawn from the published marts, each with its table to sort and "
        "download.",
    )
    def _report(context: dg.AssetExecutionContext, ndc: NdcResource,
                run_lock: RunLockResource) -> dg.MaterializeResult:
        from warehouse.report import build_report  # pandas and Plotly: kept out of the code location's load

        settings = ndc.settings
        report = build_report(settings.serving_db, settings.evaluation_report)
        context.log.info(f"wrote the {report.period} evaluation report ({len(report.charts)} charts) to {report.path}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(report.path)),
                "open": dg.MetadataValue.url(settings.docs_url(report.path)),  # served by `ndc docs --serve`
                "period": report.period,
                "charts": dg.MetadataValue.json(report.charts),
            }
        )

    return _report


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[evaluation_report_asset()])
