"""Publication: runs only after every model BI reads was built and every blocking gate on it passed.

The DuckDB serving file is written first, each table with the keys the dbt project declares
(warehouse/constraints.py); PostgreSQL (when NDC_PUBLISH_POSTGRES_DSN is set) is filled from that file, keys
included, so both serving copies hold the same tables and neither ever holds a personal column.

A publication that would empty or shrink a table a copy serves fails its step (a blocked publication, named in the
run's report) unless the run's config allows it: `ndc run --allow-shrink`, or `allow_shrink: true` on both
publication ops in the UI's launchpad.
"""


import dagster as dg

from orchestration.defs.dbt import manifest, published_models
from orchestration import freshness
from orchestration.resources import NdcResource, RunLockResource
from orchestration.settings import PUBLISH_POSTGRES_DSN_ENV
from warehouse.constraints import constraints_from_manifest
from warehouse.publish import PUBLISHED_SCHEMAS, PublicationShrinks, publish_duckdb

SERVING_DUCKDB = dg.AssetKey(["published", "serving_duckdb"])
SERVING_POSTGRES = dg.AssetKey(["published", "serving_postgres"])
BLOCKED_SHRINK = "ndc/blocked"  # the metadata a blocked publication's failure carries, for the run's report


class PublishConfig(dg.Config):
    allow_shrink: bool = False  # publish even if a served table would be emptied or lose most of its rows


def _blocked(exc: PublicationShrinks) -> dg.Failure:
    return dg.Failure(description=str(exc), metadata={BLOCKED_SHRINK: "shrink",
                                                      "shrinks": [str(s) for s in exc.shrinks]})


def _tables(result) -> dg.MetadataValue:
    return dg.MetadataValue.json({f"{t.schema}.{t.name}": t.rows for t in result.tables})


def _progress(context: dg.AssetExecutionContext, target: str):
    def report(done: int, total: int, table) -> None:
        context.log.info(f"{target}: {done}/{total} tables, {table.schema}.{table.name} ({table.rows:,} rows)")

    return report


def serving_duckdb_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=SERVING_DUCKDB,
        group_name="published",
        deps=published_models(),
        kinds={"duckdb"},
        owners=["team:data-platform"],
        freshness_policy=freshness.PUBLISHED,
        description="warehouse/serving.duckdb: the `analytics` schema BI reads, swapped in atomically after the gates.",
    )
    def _serving(context: dg.AssetExecutionContext, ndc: NdcResource, config: PublishConfig,
                 run_lock: RunLockResource) -> dg.MaterializeResult:
        settings = ndc.settings
        try:
            result = publish_duckdb(settings.build_db, settings.serving_db,
                                    on_table=_progress(context, "serving.duckdb"),
                                    memory_limit=settings.duckdb_memory_limit, allow_shrink=config.allow_shrink,
                                    constraints=constraints_from_manifest(manifest(), PUBLISHED_SCHEMAS))
        except PublicationShrinks as exc:
            raise _blocked(exc) from None
        how = (f"{result.changed_rows:,} rows inserted, updated or deleted in a copy of the served file"
               if result.changed_rows is not None else f"the whole file written ({result.why_whole})")
        context.log.info(f"published {len(result.tables)} tables ({result.rows} rows) to {result.path}: {how}")
        metadata = {"path": dg.MetadataValue.path(str(result.path)), "tables": _tables(result), "rows": result.rows,
                    "dagster/row_count": result.rows, "publication": how,
                    "rows_written": result.rows if result.changed_rows is None else result.changed_rows}
        docs = settings.dbt_docs / "index.html"  # `ndc docs` writes it: the models' documentation
        if docs.exists():
            metadata["dbt_docs"] = dg.MetadataValue.url(settings.docs_url(docs))  # served by `ndc docs --serve`
        return dg.MaterializeResult(metadata=metadata)

    return _serving


NO_DSN = f"skipped: no DSN configured ({PUBLISH_POSTGRES_DSN_ENV} is unset), nothing published to PostgreSQL"


def serving_postgres_asset() -> dg.AssetsDefinition:
    # Output not required: a run without a DSN records no materialization (the asset must not look fresh when
    # nothing was published) but an observation saying it was skipped.
    @dg.asset(
        key=SERVING_POSTGRES,
        group_name="published",
        deps=[SERVING_DUCKDB],
        kinds={"postgres"},
        owners=["team:data-platform"],
        freshness_policy=freshness.PUBLISHED,
        output_required=False,
        description="The `analytics` and `ops` schemas in PostgreSQL (NDC_PUBLISH_POSTGRES_DSN), with their keys, "
        "replaced in one transaction from the serving file; readable by the role bi_reader only. Without the DSN it "
        "is skipped: no materialization, an observation that says so.",
    )
    def _serving(context: dg.AssetExecutionContext, ndc: NdcResource, config: PublishConfig,
                 run_lock: RunLockResource):
        settings = ndc.settings  # resolved as the run starts, for `ndc run` and a daemon's run alike
        dsn = settings.publish_postgres_dsn
        if not dsn:
            context.log.info(NO_DSN)
            yield dg.AssetObservation(asset_key=SERVING_POSTGRES,
                                      metadata={"postgres_configured": False, "skipped": NO_DSN})
            return
        from warehouse.postgres import publish_postgres  # psycopg: only when publishing to PostgreSQL

        try:
            result = publish_postgres(settings.serving_db, dsn, on_table=_progress(context, "PostgreSQL"),
                                      memory_limit=settings.duckdb_memory_limit, allow_shrink=config.allow_shrink,
                                      confine=settings.pg_confine_reader)
        except PublicationShrinks as exc:
            raise _blocked(exc) from None
        context.log.info(f"published {len(result.tables)} tables ({result.rows} rows) to {result.target}")
        if result.reader_reaches:
            context.log.warning(
                f"bi_reader may also connect to {len(result.reader_reaches)} other database(s) of this server, "
                f"through PUBLIC's CONNECT: {', '.join(result.reader_reaches[:10])}. An administrator revokes it "
                "there (REVOKE CONNECT ON DATABASE … FROM PUBLIC), or NDC_PG_CONFINE_READER=1 lets publication do it")
        yield dg.MaterializeResult(
            metadata={
                "postgres_configured": True,
                "target": result.target,  # host:port/database, never the credentials
                "schema": ", ".join(result.schemas),
                "tables_published": len(result.tables),
                "tables": _tables(result),
                "rows": result.rows,
                "reader_reaches_other_databases": len(result.reader_reaches),
            }
        )

    return _serving


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[serving_duckdb_asset(), serving_postgres_asset()])
