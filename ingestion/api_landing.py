"""API pages into the raw layer, exactly once across crashes, faults and expired cursors.

Each page lands as `raw/{family}/{period}/api__{page}.parquet`, typed by the same query as a file drop (the same
rules, the same quarantine). Pages are committed in batches, by a small write-ahead journal:

1. `raw/_watermarks/{family}.journal.json` names the batch's pages and the watermark they lead to;
2. the pages are written;
3. the watermark (`raw/_watermarks/{family}.json`) moves;
4. the pages are acknowledged in the delivery ledger;
5. the journal goes.

A run that finds a journal finishes what it describes if the watermark had moved, and otherwise removes its pages:
after a restart the pages may be cut at other items, so pages from before the crash must not stay beside them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.api_client import ApiClient, Page, Watermark
from ingestion.contracts import FAMILIES
from ingestion.durable import write_json_atomically
from ingestion.landing import DeliveryOutcome, RawStore, split_by_source
from ingestion.typing import type_batch

BATCH_ROWS = 100_000  # items typed per query and committed together


@dataclass
class ApiSummary:
    family: str
    pages: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    watermark: Watermark | None = None
    outcomes: list[DeliveryOutcome] = field(default_factory=list)


def watermark_path(store: RawStore, family: str) -> Path:
    return store.root / "_watermarks" / f"{family}.json"


def read_watermark(store: RawStore, family: str) -> Watermark | None:
    path = watermark_path(store, family)
    if not path.exists():
        return None
    return Watermark(**json.loads(path.read_text(encoding="utf-8")))


def _write_watermark(store: RawStore, family: str, watermark: Watermark) -> None:
    write_json_atomically(watermark_path(store, family), asdict(watermark))


def journal_path(store: RawStore, family: str) -> Path:
    return store.root / "_watermarks" / f"{family}.journal.json"


def recover(store: RawStore, family: str) -> str | None:
    """Finish or undo a batch a crash interrupted; says which, or None when there was nothing to do."""
    path = journal_path(store, family)
    if not path.exists():
        return None
    journal = json.loads(path.read_text(encoding="utf-8"))
    outcomes = [DeliveryOutcome(**o) for o in journal["outcomes"]]
    if read_watermark(store, family) == Watermark(**journal["watermark"]):
        acknowledged = {e["source"] for e in store.ledger(family)}
        store.record(*(o for o in outcomes if o.source not in acknowledged))
        verdict = "finished"
    else:
        for outcome in outcomes:
            store.remove_source(family, "api", outcome.source)
        verdict = "rolled back"
    path.unlink()
    return verdict


def page_source(family: str, page: Page) -> str:
    first, last = page.items[0], page.items[-1]
    ident = f"{first['submitted_at']}|{first['filing_id']}|{first['revision']}|{last['submitted_at']}|{last['filing_id']}|{last['revision']}"
    return f"api/{family}/{hashlib.sha256(ident.encode()).hexdigest()[:20]}"


def _page_text(family_name: str, page: Page, source: str, loaded_at: dt.datetime) -> tuple[pa.Table, str]:
    """A page's items as the text cells the typing query takes, like a file's, with the page's lineage."""
    family = FAMILIES[family_name]
    n = len(page.items)
    decoded = pa.Table.from_pylist(page.items)  # Arrow's converter, not a Python loop per cell
    columns = {}
    for f in family.fields:
        if f.key in decoded.column_names:
            column = decoded.column(f.key)
            columns[f.key] = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
        else:
            columns[f.key] = pa.nulls(n, pa.string())
    columns["_row_number"] = pa.array(range(1, n + 1), pa.int64())
    columns["_channel"] = pa.repeat(pa.scalar("api"), n)
    columns["_source"] = pa.repeat(pa.scalar(source), n)
    columns["_source_sha256"] = pa.repeat(pa.scalar(page.sha256), n)
    columns["_loaded_at"] = pa.repeat(pa.scalar(loaded_at, pa.timestamp("us", tz="UTC")), n)
    return pa.table(columns), page.sha256


def land_api(
    client: ApiClient,
    store: RawStore,
    family_name: str,
    on_progress: Callable[[ApiSummary], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ApiSummary:
    """Pull everything submitted after the family's watermark and land it."""
    family = FAMILIES[family_name]
    recover(store, family_name)
    summary = ApiSummary(family_name, watermark=read_watermark(store, family_name))
    pending: list[tuple[Page, str, pa.Table, str]] = []
    loaded_at = dt.datetime.now(dt.timezone.utc)

    def commit() -> None:
        if not pending:
            return
        typed = type_batch(family, pa.concat_tables([text for _, _, text, _ in pending]), {})
        landed_by, quarantined_by = split_by_source(typed.landed), split_by_source(typed.quarantined)
        tail = pending[-1][0].items[-1]
        watermark = Watermark(tail["submitted_at"], tail["filing_id"], int(tail["revision"]))
        pages = []
        for page, source, text, sha in pending:
            landed = landed_by.get(source, typed.landed.schema.empty_table())
            quarantined = quarantined_by.get(source, typed.quarantined.schema.empty_table())
            outcome = DeliveryOutcome(
                family=family_name, channel="api", source=source, sha256=sha, size=page.body_bytes, mtime_ns=0,
                status="landed", encoding="json", rows_read=text.num_rows, rows_landed=landed.num_rows,
                rows_quarantined=quarantined.num_rows, message=f"cursor {page.cursor or '(start)'}",
                loaded_at=loaded_at.isoformat(),
            )
            pages.append((source, landed, quarantined, outcome))
        journal = journal_path(store, family_name)
        write_json_atomically(journal, {"watermark": asdict(watermark), "outcomes": [asdict(o) for *_, o in pages]})
        for source, landed, quarantined, _ in pages:
            store.replace_source(family, "api", source, landed, quarantined)
        _write_watermark(store, family_name, watermark)
        store.record(*(outcome for *_, outcome in pages))
        for *_, outcome in pages:
            summary.outcomes.append(outcome)
            summary.pages += 1
            summary.rows_landed += outcome.rows_landed
            summary.rows_quarantined += outcome.rows_quarantined
        journal.unlink()
        summary.watermark = watermark
        pending.clear()
        if on_progress:
            on_progress(summary)

    rows = 0
    for page in client.walk(family_name, summary.watermark):
        source = page_source(family_name, page)
        text, sha = _page_text(family_name, page, source, loaded_at)
        pending.append((page, source, text, sha))
        rows += text.num_rows
        if rows >= batch_rows:
            commit()
            rows = 0
    commit()
    return summary
