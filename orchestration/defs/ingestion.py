"""Raw assets: each family's deliveries, per channel, landed into the raw layer."""

from collections.abc import Callable

import dagster as dg
import duckdb

from ingestion.api_client import ApiClient
from ingestion.api_landing import land_api
from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore, land_file_drops, refresh_raw_schema
from orchestration.defs.quality import warm_up
from orchestration.resources import NdcResource
from orchestration.settings import Settings

OWNERS = ["team:data-platform"]
# Lands one family from one channel: (context, settings, store, family) -> metadata for the materialization.
Lander = Callable[[dg.AssetExecutionContext, Settings, RawStore, str], dict]


def land_files(context: dg.AssetExecutionContext, settings: Settings, store: RawStore, family: str) -> dict:
    def progress(done: int, total: int, outcome) -> None:
        if done == total or done % 50 == 0:
            context.log.info(f"{family}: {done}/{total} deliveries processed")

    summary = land_file_drops(settings.landing, store, family, on_progress=progress)
    for outcome in summary.rejected:
        context.log.warning(f"rejected: {outcome.message}")
    return {
        "files_landed": len(summary.landed),
        "files_rejected": len(summary.rejected),
        "files_unchanged": summary.unchanged,
        "rows_landed": summary.rows_landed,
        "rows_quarantined": summary.rows_quarantined,
        "rejected": dg.MetadataValue.json([{"source": o.source, "problem": o.message} for o in summary.rejected]),
    }


def land_from_api(context: dg.AssetExecutionContext, settings: Settings, store: RawStore, family: str) -> dict:
    if not (settings.api_url and settings.api_token):
        context.log.info("NDC_API_URL and NDC_API_TOKEN are not both set: nothing pulled from the API")
        return {"api_configured": False}
    client = ApiClient(settings.api_url, settings.api_token)
    try:
        summary = land_api(
            client, store, family,
            on_progress=lambda s: context.log.info(f"{family}: {s.pages} pages, {s.rows_landed} rows landed"),
        )
    finally:
        client.close()
    return {
        "api_configured": True,
        "pages": summary.pages,
        "rows_landed": summary.rows_landed,
        "rows_quarantined": summary.rows_quarantined,
        "watermark": str(summary.watermark.submitted_at if summary.watermark else "none"),
    }


def raw_asset(family: str, channel: str, land: Lander, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", f"{family}_{channel}"],
        group_name="raw",
        kinds={"python", "parquet", "duckdb"},
        owners=OWNERS,
        description=description,
    )
    def _asset(context: dg.AssetExecutionContext, ndc: NdcResource) -> dg.MaterializeResult:
        warm_up()  # the raw gates come next: Great Expectations is imported while this lands
        settings = ndc.settings
        store = RawStore(settings.raw)
        metadata = land(context, settings, store, family)
        settings.build_db.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.build_db)) as con:
            counts = refresh_raw_schema(con, store, families=[family])
        metadata["rows_in_raw"] = counts[f"raw.{family}_{channel}"]
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def defs() -> dg.Definitions:
    assets = []
    for name, family in FAMILIES.items():
        assets.append(raw_asset(
            name, "files", land_files,
            f"{family.chinese_name} from provincial file drops ($NDC_HOME/landing/{name}/), typed by the filing "
            "contract, with rule breakers quarantined and rejected files reported.",
        ))
        assets.append(raw_asset(
            name, "api", land_from_api,
            f"{family.chinese_name} from the national reporting system's API (NDC_API_URL), pulled after the "
            "family's watermark, each record exactly once.",
        ))
    return dg.Definitions(assets=assets)
