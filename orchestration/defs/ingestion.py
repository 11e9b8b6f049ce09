"""Raw assets: each family's deliveries, per channel, landed into the raw layer.

They are partitioned by reporting year, but a run of any years lands every pending delivery: a province-day file
or an API page can carry filings (corrections) of several years, and the ledger makes landing idempotent. What a
run landed is recorded as `periods_touched`, from which the nightly chain rebuilds exactly those years.
"""

from collections.abc import Callable

import dagster as dg
import duckdb

from ingestion.api_client import ApiClient
from ingestion.api_landing import land_api
from ingestion.contracts import FAMILIES
from ingestion.landing import (
    RawStore,
    land_file_drops,
    refresh_raw_schema,
    touched_periods,
)
from orchestration import freshness
from orchestration.defs.quality import warm_up
from orchestration.partitions import SINGLE_RUN, YEARS, record_rows_by_partition
from orchestration.resources import NdcResource, RunLockResource
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
    client = ApiClient(settings.api_url, settings.api_token, retry_budget_s=settings.api_retry_budget_s)
    try:
        summary = land_api(
            client, store, family,
            on_progress=lambda s: context.log.info(f"{family}: {s.pages} pages, {s.rows_landed} rows landed"),
        )
    finally:
        client.close()
    if summary.held_back:
        context.log.warning(f"{family}: {summary.held_back} items after the watermark are quarantined and hold it "
                            "back (submitted_at in the future or no instant); see raw.quarantine")
    return {
        "api_configured": True,
        "pages": summary.pages,
        "rows_landed": summary.rows_landed,
        "rows_quarantined": summary.rows_quarantined,
        "rows_held_back": summary.held_back,
        "watermark": str(summary.watermark.submitted_at if summary.watermark else "none"),
    }


def raw_asset(family: str, channel: str, land: Lander, description: str) -> dg.AssetsDefinition:
    view = f"raw.{family}_{channel}"

    @dg.asset(
        key=["raw", f"{family}_{channel}"],
        group_name="raw",
        kinds={"python", "parquet", "duckdb"},
        owners=OWNERS,
        description=description,
        partitions_def=YEARS,
        backfill_policy=SINGLE_RUN,
        freshness_policy=freshness.RAW,
    )
    def _asset(context: dg.AssetExecutionContext, ndc: NdcResource, run_lock: RunLockResource) -> dg.MaterializeResult:
        if context.job_def.asset_layer.asset_graph.asset_check_keys:
            warm_up()  # the run's gates come next: Great Expectations is imported while this lands
        settings = ndc.settings
        store = RawStore(settings.raw)
        before = store.period_stamps(family)
        metadata = land(context, settings, store, family)
        touched = touched_periods(before, store.period_stamps(family))
        settings.build_db.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(settings.build_db)) as con:
            counts = refresh_raw_schema(con, store, families=[family])
            by_period = dict(con.execute(f"SELECT period, count(*) FROM {view} GROUP BY period ORDER BY period").fetchall())
        metadata["rows_in_raw"] = counts[view]  # every period's: the row count of a year is its own (below)
        metadata["rows_by_period"] = dg.MetadataValue.json({str(k): v for k, v in by_period.items()})
        record_rows_by_partition(context, context.assets_def.key, by_period)
        # Every period this landing changed, whatever years the run was for: the rebuild takes these.
        metadata["periods_touched"] = dg.MetadataValue.json(touched)
        if touched:
            context.log.info(f"{view}: rows changed in periods {', '.join(map(str, touched))}")
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def landing_assets() -> dg.AssetSelection:
    """The assets that land deliveries (the ledger and the quarantine are written by them, not materialized)."""
    return dg.AssetSelection.assets(*(dg.AssetKey(["raw", f"{name}_{channel}"]) for name in FAMILIES
                                      for channel in ("files", "api")))


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
    assets += [
        dg.AssetSpec(
            ["raw", "ingest_accounting"], group_name="raw", kinds={"duckdb", "json"}, owners=OWNERS,
            description="The delivery ledger (raw/_deliveries/*.jsonl as a view): one row per file or API page "
            "attempted, with rows read, landed and quarantined, or why it was rejected. Written by every raw asset.",
        ),
        dg.AssetSpec(
            ["raw", "quarantine"], group_name="raw", kinds={"parquet", "duckdb"}, owners=OWNERS,
            description="Records that broke a rule of the filing contract (raw/_quarantine/), with the rule, a reason "
            "and their lineage. Written by every raw asset; never published.",
        ),
    ]
    return dg.Definitions(assets=assets)
