"""Publication: runs only after every model BI reads was built and every blocking gate on it passed."""


import dagster as dg

from orchestration.defs.dbt import published_models
from orchestration.resources import NdcResource
from warehouse.publish import publish_duckdb


def serving_duckdb_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=["published", "serving_duckdb"],
        group_name="published",
        deps=published_models(),
        kinds={"duckdb"},
        owners=["team:data-platform"],
        description="warehouse/serving.duckdb: the `analytics` schema BI reads, swapped in atomically after the gates.",
    )
    def _serving(context: dg.AssetExecutionContext, ndc: NdcResource) -> dg.MaterializeResult:
        settings = ndc.settings
        result = publish_duckdb(settings.build_db, settings.serving_db)
        context.log.info(f"published {len(result.tables)} tables ({result.rows} rows) to {result.path}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(result.path)),
                "tables": dg.MetadataValue.json({f"{t.schema}.{t.name}": t.rows for t in result.tables}),
                "rows": result.rows,
            }
        )

    return _serving


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[serving_duckdb_asset()])
