"""`ndc serve-api`: a stand-in for the national reporting system's HTTP API (filing-formats.md, section 1).

    GET /v1/filings/{family}?period=YYYY&updated_since=ISO8601&cursor=C&page_size=N
        Authorization: Bearer <token>
    -> {"items": [...], "next_cursor": "..." | null}
    GET /healthz  -> {"status": "ok", "families": {family: rows}}   (no token)

The store is `{dir}/api/{family}.parquet` (every period, every revision, the contract's Arrow schema); a missing file
is a family with no filings yet. Each family is read once at start-up, sorted by the answer order (submitted_at,
filing_id, revision), and kept in memory; a page is a few binary searches and a slice (a take for one period), so
its cost does not depend on how deep into the store it starts.

Items carry the contract's English keys; decimals are JSON numbers written from the exact decimal (4 places), dates
`YYYY-MM-DD`, and `submitted_at` ISO 8601 in China time (`+08:00`).

Pagination is keyset. A cursor is `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`, unpadded, where
the payload is compact JSON `{"v": 1, "family", "period", "since" (µs since epoch, UTC, or null), "after":
[submitted_at µs, filing_id, revision] (the last key returned), "issued" (service clock, seconds)}` and the secret is
derived from the seed and the token. A cursor that fails its signature is 400; one older than the TTL (15 minutes)
is 410, and the client restarts from its own watermark. Because the key is unique, paging returns every matching
record exactly once however many share a submitted_at.

Faults (`faults.py`) are drawn per request to /v1/filings from (seed, ordinal), where the ordinal counts, from 1,
the authorised requests for a known family that reach the handler (requests refused with 401, 404 or a 422 on
parameter types take no ordinal). It is sent back as `X-Request-Ordinal`. A fault never changes what a later
request returns: pages depend only on the query and the cursor.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import datetime as dt
import hashlib
import hmac
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import uvicorn
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ingestion.contracts import FAMILIES, Family, Field, Kind
from simulator.faults import FAULT_KINDS, FaultSpec

__all__ = ["FAULT_KINDS", "FaultSpec", "StoreError", "create_app", "resolve_store", "serve"]

DEFAULT_PAGE_SIZE = 1_000
MAX_PAGE_SIZE = 10_000
KEY = ("submitted_at", "filing_id", "revision")
# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for every filing and needs no
# time-zone database.
CHINA_OFFSET_US = 8 * 3600 * 1_000_000
CHINA_SUFFIX = "+08:00"
CURSOR_VERSION = 1
JSON_MEDIA = "application/json"
SERVER_ERRORS = {"500": "internal_error", "502": "bad_gateway", "503": "unavailable"}

Key = tuple[int, str, int]  # (submitted_at µs since epoch UTC, filing_id, revision)


class StoreError(ValueError):
    """The API store cannot be served as it is."""


class ApiError(Exception):
    """An answer other than a page: status, machine-readable code, and a sentence for the client's operator."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> bytes:
        return json.dumps({"error": self.error, "detail": self.detail}, ensure_ascii=False).encode()

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return Response(self.body(), self.status, {**self.headers, **(headers or {})}, media_type=JSON_MEDIA)


# ---- the store ---------------------------------------------------------------------------------------------------


def resolve_store(path: Path) -> Path:
    """The generator's output directory or its `api/` folder, as the operator gives either."""
    path = Path(path)
    if (path / "api").is_dir():
        return path / "api"
    if path.is_dir():
        return path
    raise StoreError(f"no API store at {path}: give the generator's output directory (holding api/) or its api/ folder")


def _read_columns(path: Path, family: Family) -> list[pa.ChunkedArray]:
    """The family's Parquet as columns in contract order and types; lossless type differences are cast, others
    refused."""
    expected = family.arrow_schema()
    table = pq.read_table(path)
    found = set(table.schema.names)
    missing = [name for name in expected.names if name not in found]
    extra = sorted(found - set(expected.names))
    if missing or extra:
        raise StoreError(
            f"{path}: columns do not match the {family.name} contract (missing: {', '.join(missing) or 'none'}; "
            f"unexpected: {', '.join(extra) or 'none'}); regenerate the store"
        )
    columns = []
    for field in expected:
        column = table[field.name]
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise StoreError(
                    f"{path}: column {field.name} is {column.type}, the contract says {field.type}, and it does not "
                    f"convert without loss ({exc}); regenerate the store"
                ) from None
        if not field.nullable and column.null_count:
            raise StoreError(f"{path}: column {field.name} is required but {column.null_count} rows have none")
        columns.append(column)
    return columns


def _check_unique_key(filing_id: pa.ChunkedArray, revision: pa.ChunkedArray, path: Path) -> None:
    """Keyset paging needs a unique key: a (filing_id, revision) delivered twice would be skipped or repeated."""
    pairs = pa.table({"filing_id": filing_id, "revision": revision})
    counts = pairs.group_by(["filing_id", "revision"]).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts["count_all"], 1))
    if repeated.num_rows:
        first = repeated.slice(0, 1).to_pylist()[0]
        raise StoreError(
            f"{path}: {repeated.num_rows} (filing_id, revision) pairs occur more than once, e.g. "
            f"filing_id={first['filing_id']!r} revision={first['revision']}; a revision is delivered once"
        )


def read_sorted(path: Path, family: Family) -> pa.Table:
    """The family's filings in answer order, checked against the contract."""
    schema = family.arrow_schema()
    columns = _read_columns(path, family)
    by_name = dict(zip(schema.names, columns))
    _check_unique_key(by_name["filing_id"], by_name["revision"], path)
    order = pc.sort_indices(pa.table({name: by_name[name] for name in KEY}), [(name, "ascending") for name in KEY])
    del by_name
    # Reordered one column at a time, each replacing its original, so a national store (GBs) peaks at its own size
    # plus one column rather than twice its size.
    for i in range(len(columns)):
        columns[i] = columns[i].take(order).combine_chunks()
    return pa.Table.from_arrays(columns, schema=schema)


@dataclass(frozen=True)
class Page:
    rows: pa.Table
    last: Key | None  # key of the last row, None when the page is empty
    more: bool  # whether matching rows follow the page


class FamilyStore:
    """One family's filings, sorted by the answer order, with what a page lookup needs as flat arrays."""

    def __init__(self, family: Family, table: pa.Table):
        """`table`: the family's rows in answer order, one chunk per column (`read_sorted`)."""
        self.family = family
        self.table = table
        self._ts = self.table["submitted_at"].cast(pa.int64()).to_numpy()
        self._filing_id = self.table["filing_id"].combine_chunks()
        self._revision = self.table["revision"].to_numpy()
        periods = self.table["period"].to_numpy()
        # Positions (into the sorted table) of each period's rows: ascending, so they keep the answer order.
        self._by_period = {int(p): np.flatnonzero(periods == p) for p in np.unique(periods)}

    @classmethod
    def load(cls, store: Path, family: Family) -> FamilyStore:
        path = store / f"{family.name}.parquet"
        if not path.exists():
            return cls(family, family.arrow_schema().empty_table())
        return cls(family, read_sorted(path, family))

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def key_at(self, position: int) -> Key:
        return (int(self._ts[position]), self._filing_id[position].as_py(), int(self._revision[position]))

    def _first_after(self, key: Key) -> int:
        """Position of the first row whose key is greater than `key`."""
        ts, filing_id, revision = key
        lo = int(np.searchsorted(self._ts, ts, side="left"))
        hi = int(np.searchsorted(self._ts, ts, side="right"))
        # Within one submitted_at, rows are in (filing_id, revision) order. Arrow sorts strings by UTF-8 bytes, which
        # is code point order, the order Python compares str in.
        tied = _TiedKeys(self._filing_id, self._revision)
        return bisect.bisect_right(tied, (filing_id, revision), lo, hi)

    def page(self, period: int | None, since_us: int | None, after: Key | None, size: int) -> Page:
        start = 0
        if since_us is not None:
            start = int(np.searchsorted(self._ts, since_us, side="right"))
        if after is not None:
            start = max(start, self._first_after(after))
        if period is None:
            positions = np.arange(start, min(start + size, self.rows))
            more = start + size < self.rows
            rows = self.table.slice(start, size)
        else:
            in_period = self._by_period.get(period, np.empty(0, dtype=np.int64))
            first = int(np.searchsorted(in_period, start, side="left"))
            positions = in_period[first : first + size]
            more = first + size < len(in_period)
            rows = self.table.take(positions)
        last = self.key_at(int(positions[-1])) if len(positions) else None
        return Page(rows, last, more)


class _TiedKeys:
    """(filing_id, revision) by position, as a sequence `bisect` can search without materialising it."""

    def __init__(self, filing_id: pa.StringArray, revision: np.ndarray):
        self._filing_id = filing_id
        self._revision = revision

    def __len__(self) -> int:
        return len(self._revision)

    def __getitem__(self, i: int) -> tuple[str, int]:
        return (self._filing_id[i].as_py(), int(self._revision[i]))


# ---- JSON encoding ----------------------------------------------------------------------------------------------
# A page is encoded column by column with Arrow kernels: each value becomes its JSON text, then one element-wise
# join makes each row's object. A 5,000-row enterprise page takes ~25 ms, a tenth of what building Python dicts
# (with Decimals and datetimes) and dumping them costs.

_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
_CONTROL = r"[\x00-\x1f]"


def _json_strings(column: pa.Array) -> pa.Array:
    if pc.any(pc.match_substring_regex(column, _NEEDS_ESCAPE)).as_py():
        if pc.any(pc.match_substring_regex(column, _CONTROL)).as_py():
            # Control characters are rare; let the json module write such a column in full.
            texts = [None if v is None else json.dumps(v, ensure_ascii=False) for v in column.to_pylist()]
            return pa.array(texts, pa.string())
        column = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', column, '"', "")


def _json_china_time(column: pa.Array) -> pa.Array:
    """ISO 8601 in +08:00, with microseconds only when there are some (as datetime.isoformat writes it)."""
    local_us = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy() + CHINA_OFFSET_US
    seconds = np.floor_divide(local_us, 1_000_000)
    micros = local_us - seconds * 1_000_000
    # Arrow writes a naive timestamp[s] as 'YYYY-MM-DD HH:MM:SS', ten times faster than strftime.
    text = pc.cast(pa.array(seconds, pa.timestamp("s")), pa.string())
    text = pc.replace_substring(text, " ", "T", max_replacements=1)
    if micros.any():
        digits = pc.utf8_lpad(pc.cast(pa.array(micros), pa.string()), width=6, padding="0")
        text = pc.if_else(pa.array(micros == 0), text, pc.binary_join_element_wise(text, digits, "."))
    text = pc.binary_join_element_wise('"', text, CHINA_SUFFIX + '"', "")
    return pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()), text)


def _json_values(column: pa.Array, field: Field) -> pa.Array:
    """Each value's JSON text; nulls as `null`."""
    if field.kind is Kind.TEXT:
        text = _json_strings(column)
    elif field.kind is Kind.TIMESTAMP:
        text = _json_china_time(column)
    elif field.kind is Kind.DATE:
        text = pc.binary_join_element_wise('"', pc.cast(column, pa.string()), '"', "")
    else:
        # int64, bool (true/false) and decimal128(18, 4) (plain notation, 4 places): their text is their JSON.
        text = pc.cast(column, pa.string())
    return pc.fill_null(text, "null")


def encode_items(rows: pa.Table, family: Family) -> bytes:
    """The items of a page, `{...},{...}`, as JSON text without the enclosing brackets."""
    if rows.num_rows == 0:
        return b""
    first = "{" + json.dumps(family.fields[0].key) + ":"
    # Every object but the first starts with the comma that separates it from the one before, so the joined
    # strings' data buffer is already the list's text.
    parts: list[Any] = [pa.array([first] + ["," + first] * (rows.num_rows - 1))]
    for i, field in enumerate(family.fields):
        if i:
            parts.append("," + json.dumps(field.key) + ":")
        parts.append(_json_values(rows[field.key].combine_chunks(), field))
    parts.append("}")
    objects = pc.binary_join_element_wise(*parts, "")
    _, offsets, data = objects.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[[objects.offset, objects.offset + len(objects)]]
    return data.slice(int(bounds[0]), int(bounds[1] - bounds[0])).to_pybytes()


def encode_page(items: bytes, next_cursor: str | None) -> bytes:
    return b"".join([b'{"items":[', items, b'],"next_cursor":', json.dumps(next_cursor).encode(), b"}"])


# ---- cursors ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageQuery:
    family: str
    period: int | None
    since_us: int | None


@dataclass(frozen=True)
class Cursor:
    query: PageQuery
    after: Key
    issued: float  # service clock, seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes):
        self._secret = secret

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def issue(self, cursor: Cursor) -> str:
        payload = json.dumps(
            {
                "v": CURSOR_VERSION,
                "family": cursor.query.family,
                "period": cursor.query.period,
                "since": cursor.query.since_us,
                "after": list(cursor.after),
                "issued": cursor.issued,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def read(self, text: str) -> Cursor:
        refused = ApiError(
            400,
            "bad_cursor",
            "the cursor is not one this service issued (altered or truncated); restart from your watermark without it",
        )
        body, dot, signature = text.partition(".")
        if not dot:
            raise refused
        try:
            payload, mac = _unb64(body), _unb64(signature)
        except (binascii.Error, ValueError):
            raise refused from None
        if not hmac.compare_digest(mac, self._sign(payload)):
            raise refused
        try:
            fields = json.loads(payload)
            if fields["v"] != CURSOR_VERSION:
                raise ValueError(f"cursor version {fields['v']}")
            ts, filing_id, revision = fields["after"]
            query = PageQuery(fields["family"], fields["period"], fields["since"])
            return Cursor(query, (int(ts), str(filing_id), int(revision)), float(fields["issued"]))
        except (ValueError, KeyError, TypeError):
            raise refused from None


def _cursor_secret(seed: int, token: str) -> bytes:
    return hmac.new(token.encode(), f"ndc-api-cursor:{seed}".encode(), hashlib.sha256).digest()


def _expired(ttl_s: float) -> ApiError:
    return ApiError(
        410,
        "cursor_expired",
        f"the cursor expired (cursors live {ttl_s:g} s); restart from your watermark: ask again without a cursor, "
        "with updated_since set to the last submitted_at you have fully landed",
    )


def parse_instant(text: str) -> int:
    """ISO 8601 (a naive instant is UTC) as µs since the epoch."""
    candidate = text.strip()
    try:
        moment = dt.datetime.fromisoformat(candidate)
    except ValueError:
        # An unescaped '+' in a query string arrives as a space: '...T10:00:00 08:00'.
        head, space, tail = candidate.rpartition(" ")
        try:
            moment = dt.datetime.fromisoformat(f"{head}+{tail}") if space else None
        except ValueError:
            moment = None
        if moment is None:
            detail = f"updated_since={text!r} is not an ISO 8601 instant, e.g. 2024-03-01T00:00:00+08:00"
            raise ApiError(422, "bad_parameter", detail) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


# ---- the service ------------------------------------------------------------------------------------------------


class _DeliberateDrop(ConnectionAbortedError):
    """Raised inside a response body to make uvicorn close the connection mid-response (the `drop` fault)."""


def _is_deliberate_drop(exc: BaseException | None) -> bool:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _DeliberateDrop):
            return True
        stack.extend([current.__cause__, current.__context__, *getattr(current, "exceptions", ())])
    return False


class _QuietDrops(logging.Filter):
    """uvicorn logs an error with a traceback when a body raises; for a deliberate drop that is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_deliberate_drop(record.exc_info[1]))


def _quiet_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


async def _dropping(body: bytes) -> AsyncIterator[bytes]:
    yield body[: max(1, len(body) // 2)]
    raise _DeliberateDrop("drop fault: closing the connection mid-response")


def _fault_response(fault: str, retry_after_s: int, headers: dict[str, str]) -> Response | None:
    """The answer of a fault that replaces the service's answer; None for faults that alter or delay it."""
    if fault == "429":
        limited = ApiError(429, "too_many_requests", f"rate limited; retry after {retry_after_s} s")
        return limited.response({**headers, "Retry-After": str(retry_after_s)})
    if fault in SERVER_ERRORS:
        failed = ApiError(int(fault), SERVER_ERRORS[fault], "transient failure of the reporting system; retry later")
        return failed.response(headers)
    return None


def create_app(
    api_dir: Path,
    token: str,
    faults: FaultSpec | str | None = None,
    seed: int = 0,
    clock: Callable[[], float] = time.time,
    cursor_ttl_s: float = 900,
    retry_after_s: int = 1,
    slow_s: float = 2.0,
) -> FastAPI:
    """The API over the store at `api_dir` (the generator's output directory or its api/ folder), loaded now."""
    if not token:
        raise ValueError("a bearer token is required: clients must send it as 'Authorization: Bearer <token>'")
    spec = faults if isinstance(faults, FaultSpec) else FaultSpec.parse(faults)
    store = resolve_store(api_dir)
    stores = {name: FamilyStore.load(store, family) for name, family in FAMILIES.items()}
    # Reading Parquet and sorting leave freed blocks in Arrow's allocator; give them back before serving.
    pa.default_memory_pool().release_unused()
    codec = CursorCodec(_cursor_secret(seed, token))
    ordinals = itertools.count(1)
    expected_auth = f"Bearer {token}".encode()
    _quiet_drops()

    app = FastAPI(title="National reporting system (stand-in)", docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return ApiError(422, "bad_parameter", problems).response()

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected_auth):
            detail = "send a valid token as 'Authorization: Bearer <token>'"
            raise ApiError(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "families": {name: s.rows for name, s in stores.items()}}

    def answer(family: str, period: int | None, since_us: int | None, cursor: Cursor | None, page_size: int) -> bytes:
        query = cursor.query if cursor else PageQuery(family, period, since_us)
        page = stores[family].page(query.period, query.since_us, cursor.after if cursor else None, page_size)
        next_cursor = codec.issue(Cursor(query, page.last, clock())) if page.more and page.last else None
        return encode_page(encode_items(page.rows, stores[family].family), next_cursor)

    def read_cursor(text: str, family: str, period: int | None, since_us: int | None) -> Cursor:
        cursor = codec.read(text)
        if clock() - cursor.issued > cursor_ttl_s:
            raise _expired(cursor_ttl_s)
        query = cursor.query
        if (
            query.family != family
            or (period is not None and period != query.period)
            or (since_us is not None and since_us != query.since_us)
        ):
            raise ApiError(
                400,
                "cursor_mismatch",
                "the cursor belongs to another query: send it with the family, period and updated_since it was issued "
                "for, or without period and updated_since",
            )
        return cursor

    @app.get("/v1/filings/{family}", dependencies=[Depends(authorised)])
    async def filings(
        family: str,
        period: Annotated[int | None, Query(ge=1990, le=2100)] = None,
        updated_since: str | None = None,
        cursor: str | None = None,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> Response:
        if family not in stores:
            raise ApiError(404, "unknown_family", f"no family {family!r}; the families are {', '.join(stores)}")
        ordinal = next(ordinals)
        fault = spec.draw(seed, ordinal)
        headers = {"X-Request-Ordinal": str(ordinal)}
        if fault is not None and (replaced := _fault_response(fault, retry_after_s, headers)) is not None:
            return replaced
        try:
            if fault == "expire" and cursor is not None:
                raise _expired(cursor_ttl_s)
            since_us = parse_instant(updated_since) if updated_since is not None else None
            current = read_cursor(cursor, family, period, since_us) if cursor is not None else None
            status, body = 200, await run_in_threadpool(answer, family, period, since_us, current, page_size)
        except ApiError as exc:
            headers.update(exc.headers)
            status, body = exc.status, exc.body()
        if fault == "slow":
            await asyncio.sleep(slow_s)
        elif fault == "cut":
            return Response(body[: len(body) // 2], status_code=status, headers=headers, media_type=JSON_MEDIA)
        elif fault == "drop":
            headers["Content-Length"] = str(len(body))
            return StreamingResponse(_dropping(body), status_code=status, headers=headers, media_type=JSON_MEDIA)
        return Response(body, status_code=status, headers=headers, media_type=JSON_MEDIA)

    return app


def serve(
    api_dir: Path,
    host: str,
    port: int,
    token: str,
    faults: FaultSpec | str | None = None,
    seed: int = 0,
    *,
    retry_after_s: int = 1,
    slow_s: float = 2.0,
) -> None:
    """Run the API with uvicorn until interrupted. The token is never logged; access lines are below the log level."""
    app = create_app(Path(api_dir), token, faults, seed, retry_after_s=retry_after_s, slow_s=slow_s)
    uvicorn.run(app, host=host, port=port, log_level="warning")
