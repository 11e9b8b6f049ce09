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

The watermark only ever rests on an item with a key it can trust: an object whose submitted_at is an instant no
later than the received time's grace (the rule `submitted_not_in_future`). Items after the last such item of a pull
(a submitted_at in 2099 sorts after everything, one that is no instant cannot be placed) are quarantined under one
source per family, `api/{family}/held-back`, which each pull replaces: they are fetched and reported on every pull
until the API corrects them, and later filings still arrive.

An item of another shape than the contract's JSON types (a string for a number, an object in a scalar, NaN, a
missing key, a list for an item) is quarantined with its page, item and field, never a crashed run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.api_client import ApiClient, Number, Page, Watermark, item_key, watermark_of
from ingestion.contracts import FAMILIES, QUARANTINE_SCHEMA, Family, Kind
from ingestion.durable import write_json_atomically
from ingestion.escaping import excerpt
from ingestion.landing import DeliveryOutcome, RawStore, split_by_source
from ingestion.typing import SUBMISSION_GRACE, type_batch

BATCH_ROWS = 100_000  # items typed per query and committed together

# The JSON types an item's value may have, by the kind of its field (null aside). A whole number is a decimal too:
# encoders write 3386.0 as 3386.
JSON_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.TEXT: (str,), Kind.DATE: (str,), Kind.TIMESTAMP: (str,),
    Kind.INT: (int,), Kind.DECIMAL: (int, Number), Kind.BOOL: (bool,),
}
JSON_TYPE_NAMES = {Kind.TEXT: "a string", Kind.DATE: "a date string", Kind.TIMESTAMP: "an ISO 8601 string",
                   Kind.INT: "a whole number", Kind.DECIMAL: "a number", Kind.BOOL: "true or false"}
_MISSING = object()


@dataclass
class ApiSummary:
    family: str
    pages: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    held_back: int = 0  # quarantined items after the watermark: fetched and reported again by every pull
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


def held_back_source(family: str) -> str:
    return f"api/{family}/held-back"


def recover(store: RawStore, family: str) -> str | None:
    """Finish or undo a batch a crash interrupted; says which, or None when there was nothing to do."""
    path = journal_path(store, family)
    if not path.exists():
        return None
    journal = json.loads(path.read_text(encoding="utf-8"))
    outcomes = [DeliveryOutcome(**o) for o in journal["outcomes"]]
    expected = Watermark(**journal["watermark"]) if journal["watermark"] else None
    if read_watermark(store, family) == expected:
        acknowledged = {e["source"] for e in store.ledger(family)}
        store.record(*(o for o in outcomes if o.source not in acknowledged))
        verdict = "finished"
    else:
        for outcome in outcomes:
            store.remove_source(family, "api", outcome.source)
        verdict = "rolled back"
    path.unlink()
    return verdict


def _ident(item: object) -> str:
    if isinstance(item, dict):
        return f"{item.get('submitted_at')}|{item.get('filing_id')}|{item.get('revision')}"
    return json.dumps(item, ensure_ascii=False, default=str)


def page_source(family: str, page: Page) -> str:
    ident = f"{_ident(page.items[0])}|{_ident(page.items[-1])}"
    return f"api/{family}/{hashlib.sha256(ident.encode()).hexdigest()[:20]}"


def _describe(value: object) -> str:
    if value is _MISSING:
        return "missing (an item sends null for no value)"
    if isinstance(value, float):
        return f"{value!r}, not a JSON number"
    kind = {bool: "true/false", int: "a whole number", Number: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
    # JSON escapes C0 controls but not DEL, C1 or bidirectional marks: shown like any delivered cell.
    return f"{kind} ({excerpt(json.dumps(value, ensure_ascii=False, default=str))})"


def _shape_problems(family: Family, items: list) -> dict[int, tuple[str, str]]:
    """Item index -> (rule, reason) for items whose JSON is not of the contract's types; column by column, so a
    well-formed page costs a type check per column, not a Python call per cell."""
    problems: dict[int, tuple[str, str]] = {}
    for i, item in enumerate(items):
        if type(item) is not dict:
            problems[i] = ("shape:item", f"the item is {_describe(item)}, not an object")
    for fld in family.fields:
        absent = None if fld.extension else _MISSING
        values = [item.get(fld.key, absent) if type(item) is dict else None for item in items]
        allowed = (*JSON_TYPES[fld.kind], type(None))
        if set(map(type, values)) <= set(allowed):
            continue
        for i, value in enumerate(values):
            if type(value) not in allowed and i not in problems:
                problems[i] = (f"shape:{fld.key}", f"{fld.key} is {_describe(value)}, "
                                                   f"expected {JSON_TYPE_NAMES[fld.kind]} or null")
    return problems


def _text_column(values: list, kind: Kind) -> pa.Array:
    """Values of the contract's JSON types as the text the typing query reads (numbers with a fraction stay the
    text they were sent as)."""
    if kind is Kind.BOOL:
        return pc.cast(pa.array(values, pa.bool_()), pa.string())
    if kind in (Kind.INT, Kind.DECIMAL):
        # str() of a whole number beyond 64 bits too: the typing query quarantines it (`type:`), naming the value.
        return pa.array([v if v is None or type(v) is Number else str(v) for v in values], pa.string())
    return pa.array(values, pa.string())


def _page_text(family: Family, page: Page, source: str, loaded_at: dt.datetime) -> tuple[pa.Table, pa.Table]:
    """A page's well-formed items as the text cells the typing query takes, like a file's, with the page's lineage;
    and its items of another shape, quarantined already (QUARANTINE_SCHEMA)."""
    problems = _shape_problems(family, page.items)
    rows = [i for i in range(len(page.items)) if i not in problems]
    items = [page.items[i] for i in rows]
    columns = {fld.key: _text_column([item.get(fld.key) for item in items], fld.kind) for fld in family.fields}
    lineage = _lineage(page, source, [page.offset + i + 1 for i in rows], loaded_at)
    text = pa.table({**columns, **lineage})
    bad = sorted(problems)
    quarantined = pa.table({
        "family": [family.name] * len(bad),
        "rule": [problems[i][0] for i in bad],
        "reason": [problems[i][1] for i in bad],
        "filing_id": [_filing_id(page.items[i]) for i in bad],
        "record": [json.dumps(page.items[i], ensure_ascii=False, default=str) for i in bad],
        **_lineage(page, source, [page.offset + i + 1 for i in bad], loaded_at),
    }, schema=QUARANTINE_SCHEMA)
    return text, quarantined


def _filing_id(item: object) -> str | None:
    value = item.get("filing_id") if isinstance(item, dict) else None
    return value if type(value) is str else None


def _lineage(page: Page, source: str, row_numbers: list[int], loaded_at: dt.datetime) -> dict[str, pa.Array]:
    n = len(row_numbers)
    return {
        "_channel": pa.array(["api"] * n, pa.string()),
        "_source": pa.array([source] * n, pa.string()),
        "_source_sha256": pa.array([page.sha256] * n, pa.string()),
        "_row_number": pa.array(row_numbers, pa.int64()),
        "_loaded_at": pa.array([loaded_at] * n, pa.timestamp("us", tz="UTC")),
    }


def _with_page_in_reason(quarantined: pa.Table, numbers: dict[str, int]) -> pa.Table:
    """Start each reason with the page (its number in this pull) and the item, so an operator can find it."""
    if not quarantined.num_rows:
        return quarantined
    prefixes = [f"page {numbers[s]}, item {r}: " for s, r in zip(quarantined.column("_source").to_pylist(),
                                                                  quarantined.column("_row_number").to_pylist())]
    reasons = pc.binary_join_element_wise(pa.array(prefixes, pa.string()), quarantined.column("reason"), "")
    return quarantined.set_column(quarantined.schema.get_field_index("reason"), "reason", reasons)


def _last_trusted(items: list, latest: float) -> int | None:
    """The index of the last item the watermark can rest on: a key, and submitted no later than `latest`."""
    for i in range(len(items) - 1, -1, -1):
        key = item_key(items[i])
        if key is not None and key[0] <= latest:
            return i
    return None


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
    loaded_at = dt.datetime.now(dt.timezone.utc)
    latest = (loaded_at + SUBMISSION_GRACE).timestamp()

    def commit(pages: list[Page], watermark: Watermark | None, held: bool = False) -> None:
        sources = [held_back_source(family_name) if held else page_source(family_name, p) for p in pages]
        texts, shaped = zip(*(_page_text(family, p, s, loaded_at) for p, s in zip(pages, sources)))
        typed = type_batch(family, pa.concat_tables(texts), {})
        numbers = {s: p.number for p, s in zip(pages, sources)}
        quarantined = _with_page_in_reason(pa.concat_tables([typed.quarantined, *shaped]), numbers)
        landed_by, quarantined_by = split_by_source(typed.landed), split_by_source(quarantined)
        outcomes = []
        for source in dict.fromkeys(sources):
            of_source = [p for p, s in zip(pages, sources) if s == source]
            landed = landed_by.get(source, typed.landed.schema.empty_table())
            rejected = quarantined_by.get(source, quarantined.schema.empty_table())
            where = ", ".join(f"page {p.number} (cursor {p.cursor or '(start)'})" for p in of_source)
            message = where if not held else (
                f"held back: {rejected.num_rows} items after the watermark, quarantined, from {where}; their "
                "submitted_at is in the future or no instant, so the watermark stays before them and every pull "
                "fetches and reports them again until the API corrects them")
            outcomes.append((source, landed, rejected, DeliveryOutcome(
                family=family_name, channel="api", source=source, sha256=of_source[-1].sha256,
                size=sum(p.body_bytes for p in of_source), mtime_ns=0, status="landed", encoding="json",
                rows_read=landed.num_rows + rejected.num_rows, rows_landed=landed.num_rows,
                rows_quarantined=rejected.num_rows, message=message, loaded_at=loaded_at.isoformat(),
            )))
        journal = journal_path(store, family_name)
        write_json_atomically(journal, {"watermark": asdict(watermark) if watermark else None,
                              "outcomes": [asdict(o) for *_, o in outcomes]})
        for source, landed, rejected, _ in outcomes:
            store.replace_source(family, "api", source, landed, rejected)
        if watermark != summary.watermark:
            _write_watermark(store, family_name, watermark)
        store.record(*(outcome for *_, outcome in outcomes))
        for *_, outcome in outcomes:
            summary.outcomes.append(outcome)
            summary.pages += 1
            summary.rows_landed += outcome.rows_landed
            summary.rows_quarantined += outcome.rows_quarantined
            if held:
                summary.held_back += outcome.rows_quarantined
        journal.unlink()
        summary.watermark = watermark
        if on_progress:
            on_progress(summary)

    pending: list[Page] = []  # ends with an item the watermark can rest on
    after: list[Page] = []  # items after the last such item: committed once one follows them, else held back
    rows = 0
    for page in client.walk(family_name, summary.watermark):
        rows += len(page.items)
        cut = _last_trusted(page.items, latest)
        if cut is None:
            after.append(page)
        else:
            pending += [*after, replace(page, items=page.items[: cut + 1])]
            rest = page.items[cut + 1 :]
            after = [replace(page, items=rest, offset=page.offset + cut + 1)] if rest else []
        if rows >= batch_rows and pending:
            commit(pending, watermark_of(pending[-1].items[-1]))
            pending, rows = [], sum(len(p.items) for p in after)
    if pending:
        commit(pending, watermark_of(pending[-1].items[-1]))
    if after:
        commit(after, summary.watermark, held=True)
    else:
        store.remove_source(family_name, "api", held_back_source(family_name))
    return summary
