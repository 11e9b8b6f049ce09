"""Raw assets: each family's deliveries landed into the raw layer."""


import dagster as dg
import duckdb

from ingestion.api_client import ApiClient
from ingestion.api_landing import land_api
from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore, land_file_drops, refresh_raw_schema
from orchestration.resources import NdcResource

OWNERS = ["team:data-platform"]


def file_drop_asset(family: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", f"{family}_files"],
        group_name="raw",
        kinds={"python", "parquet", "duckdb"},
        owners=OWNERS,
        description=description,
    )
    def _asset(context: dg.AssetExecutionContext, ndc: NdcResource) -> dg.MaterializeResult:
        settings = ndc.settings
        store = RawStore(settings.raw)

        def progress(done: int, total: int, outcome) -> None:
            if done == total or done % 50 == 0:
                context.log.info(f"{family}: {done}/{total} deliveries processed")

        summary = land_file_drops(settings.landing, store, family, on_progress=progress)
        for outcome in summary.rejected:
            context.log.warning(f"rejected: {outcome.message}")
        settings.build_db.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.build_db)) as con:
            counts = refresh_raw_schema(con, store, families=[family])
        return dg.MaterializeResult(
            metadata={
                "files_landed": len(summary.landed),
                "files_rejected": len(summary.rejected),
                "files_unchanged": summary.unchanged,
                "rows_landed": summary.rows_landed,
                "rows_quarantined": summary.rows_quarantined,
                "rows_in_raw": counts[f"raw.{family}_files"],
                "rejected": dg.MetadataValue.json([{"source": o.source, "problem": o.message} for o in summary.rejected]),
            }
        )

    return _asset


def api_asset(family: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", f"{family}_api"],
        group_name="raw",
        kinds={"python", "parquet", "duckdb"},
        owners=OWNERS,
        description=description,
    )
    def _asset(context: dg.AssetExecutionContext, ndc: NdcResource) -> dg.MaterializeResult:
        settings = ndc.settings
        store = RawStore(settings.raw)
        metadata: dict = {"api_configured": bool(settings.api_url and settings.api_token)}
        if metadata["api_configured"]:
            client = ApiClient(settings.api_url, settings.api_token)
            try:
                summary = land_api(
                    client, store, family,
                    on_progress=lambda s: context.log.info(f"{family}: {s.pages} pages, {s.rows_landed} rows landed"),
                )
            finally:
                client.close()
            metadata |= {
                "pages": summary.pages,
                "rows_landed": summary.rows_landed,
                "rows_quarantined": summary.rows_quarantined,
                "watermark": str(summary.watermark.submitted_at if summary.watermark else "none"),
            }
        else:
            context.log.info("NDC_API_URL and NDC_API_TOKEN are not both set: nothing pulled from the API")
        settings.build_db.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.build_db)) as con:
            counts = refresh_raw_schema(con, store, families=[family])
        metadata["rows_in_raw"] = counts[f"raw.{family}_api"]
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def defs() -> dg.Definitions:
    file_assets = [
        file_drop_asset(
            name,
            f"{family.chinese_name} from provincial file drops ($NDC_HOME/landing/{name}/), typed by the filing "
            "contract, with rule breakers quarantined and rejected files reported.",
        )
        for name, family in FAMILIES.items()
    ]
    api_assets = [
        api_asset(
            name,
            f"{family.chinese_name} from the national reporting system's API (NDC_API_URL), pulled after the "
            "family's watermark, each record exactly once.",
        )
        for name, family in FAMILIES.items()
    ]
    return dg.Definitions(assets=file_assets + api_assets)
