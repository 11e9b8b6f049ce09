"""API ingestion against the real service: through faults, crashes and re-runs, each record lands exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import ingestion.api_landing as api_landing
from ingestion.api_client import ApiClient, ApiError
from ingestion.api_landing import land_api, read_watermark
from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore, refresh_raw_schema
from simulator.api_service import create_app
from simulator.generate import generate
from tests.ingestion import api_bad_input_corpus as api_corpus
from tests.ingestion.hostile_api import Answer, Request, hostile_api, page
from tests.support import landed_api_keys as landed
from tests.support import running

TOKEN = "test-token"
FAULTS = "429=0.08,500=0.05,502=0.03,503=0.05,slow=0.02,expire=0.05,cut=0.05,drop=0.05"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("api")
    generate(out, "sample", range(2022, 2024), seed=21, channel="api")
    return out


def client(base: str, **kw) -> ApiClient:
    return ApiClient(base, TOKEN, page_size=kw.pop("page_size", 200), backoff_s=0.01, max_backoff_s=0.05, **kw)



def stored(generated: Path, family: str) -> list[tuple]:
    table = pq.read_table(generated / "api" / f"{family}.parquet", columns=["filing_id", "revision"])
    return sorted(zip(table.column("filing_id").to_pylist(), table.column("revision").to_pylist()))


def test_every_record_of_every_family_lands_once_and_a_rerun_is_a_no_op(generated: Path, tmp_path: Path):
    store = RawStore(tmp_path / "raw")
    with running(create_app(generated, TOKEN)) as base:
        api = client(base)
        for family in FAMILIES:
            summary = land_api(api, store, family)
            assert landed(store, family) == stored(generated, family)
            assert summary.rows_landed + summary.rows_quarantined == len(stored(generated, family))
            again = land_api(api, store, family)
            assert again.pages == 0 and landed(store, family) == stored(generated, family)


def test_a_run_through_injected_faults_lands_what_a_clean_run_lands(generated: Path, tmp_path: Path):
    clean, faulty = RawStore(tmp_path / "clean"), RawStore(tmp_path / "faulty")
    with running(create_app(generated, TOKEN)) as base:
        land_api(client(base), clean, "enterprise")
    with running(create_app(generated, TOKEN, faults=FAULTS, seed=3, retry_after_s=0, slow_s=0.05)) as base:
        summary = land_api(client(base, retries=12), faulty, "enterprise", batch_rows=300)
    assert summary.pages > 5
    assert landed(faulty, "enterprise") == landed(clean, "enterprise") == stored(generated, "enterprise")


def test_a_crash_before_the_watermark_moves_relands_those_pages_without_copies(generated: Path, tmp_path: Path, monkeypatch):
    store = RawStore(tmp_path / "raw")
    real = api_landing._write_watermark
    calls = {"n": 0}

    def crash_on_second(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed between writing pages and moving the watermark")
        real(*args)

    with running(create_app(generated, TOKEN)) as base:
        monkeypatch.setattr(api_landing, "_write_watermark", crash_on_second)
        with pytest.raises(KeyboardInterrupt):
            land_api(client(base), store, "contract", batch_rows=300)
        first_watermark = read_watermark(store, "contract")
        assert first_watermark is not None  # the first batch was committed
        monkeypatch.setattr(api_landing, "_write_watermark", real)
        land_api(client(base), store, "contract", batch_rows=300)
    assert landed(store, "contract") == stored(generated, "contract")


def test_a_wrong_token_is_a_clear_error_without_the_token(generated: Path, tmp_path: Path):
    with running(create_app(generated, TOKEN)) as base:
        api = ApiClient(base, "not-the-token", backoff_s=0.01)
        with pytest.raises(ApiError, match="401") as info:
            land_api(api, RawStore(tmp_path / "raw"), "zone")
    assert "not-the-token" not in str(info.value)


def test_a_crash_after_the_watermark_moved_is_finished_not_redone(generated: Path, tmp_path: Path, monkeypatch):
    store = RawStore(tmp_path / "raw")
    real = RawStore.record
    calls = {"n": 0}

    def crash_once(self, *outcomes):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("killed after the watermark moved, before the ledger")
        real(self, *outcomes)

    with running(create_app(generated, TOKEN)) as base:
        monkeypatch.setattr(RawStore, "record", crash_once)
        with pytest.raises(KeyboardInterrupt):
            land_api(client(base), store, "zone")
        monkeypatch.setattr(RawStore, "record", real)
        rerun = land_api(client(base), store, "zone")
    assert rerun.pages == 0  # nothing fetched again: the batch was committed, only its acknowledgement was missing
    assert landed(store, "zone") == stored(generated, "zone")
    ledger = store.ledger("zone")
    assert len({e["source"] for e in ledger}) == len(ledger)  # each page acknowledged once
    assert sum(e["rows_read"] for e in ledger) == len(stored(generated, "zone"))


# ---- items of another shape, and items the watermark must not rest on (scripted server, api_bad_input_corpus) ----


def honouring_updated_since(items: list) -> Callable[[Request], Answer]:
    """A scripted API over `items` (served in list order, which a test may extend) that honours updated_since.
    An item whose submitted_at is no instant cannot be placed by the server either: it comes in every answer."""

    def after(item: object, cut: dt.datetime) -> bool:
        try:
            return dt.datetime.fromisoformat(item["submitted_at"]) > cut
        except (TypeError, ValueError, KeyError):
            return True

    def script(request: Request) -> Answer:
        since = request.query.get("updated_since")
        if since is None:
            return page(list(items))
        return page([i for i in items if after(i, dt.datetime.fromisoformat(since))])

    return script


def raw_rows(store: RawStore, sql: str) -> list[tuple]:
    con = duckdb.connect()
    refresh_raw_schema(con, store, families=["enterprise"])
    rows = con.execute(sql).fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("case", api_corpus.ITEM_CASES, ids=[c.key for c in api_corpus.ITEM_CASES])
def test_each_bad_api_item_gets_its_documented_outcome(tmp_path: Path, case: api_corpus.ApiCase):
    good = [api_corpus.item(1), api_corpus.item(2)]
    items = [*good, case.build()] if case.outcome == api_corpus.HELD else [good[0], case.build(), good[1]]
    store = RawStore(tmp_path / "raw")
    with hostile_api(honouring_updated_since(items)) as api:
        summary = land_api(client(api.base), store, "enterprise")
    landed_rows = raw_rows(store, "SELECT filing_id, revenue FROM raw.enterprise_api ORDER BY filing_id")
    quarantined = raw_rows(store, "SELECT rule, reason FROM raw.quarantine")
    if case.outcome == api_corpus.KEPT:
        assert dict(landed_rows) == {"API-2023-00001": Decimal("56000.5"), "API-2023-00002": Decimal("56000.5"),
                                     "API-2023-00003": Decimal("3386")}
        assert quarantined == [] and summary.rows_quarantined == 0
        return
    assert [r[0] for r in landed_rows] == ["API-2023-00001", "API-2023-00002"]
    assert [q[0] for q in quarantined] == [case.expect]
    position = 3 if case.outcome == api_corpus.HELD else 2
    assert quarantined[0][1].startswith(f"page 1, item {position}: "), quarantined[0][1]
    assert summary.rows_landed == 2 and summary.rows_quarantined == 1
    assert read_watermark(store, "enterprise").filing_id == "API-2023-00002"


@pytest.mark.parametrize("bad_at", ["2099-01-01T00:00:00+08:00", "上周三"])
def test_an_item_the_watermark_cannot_rest_on_holds_it_back_and_later_filings_still_arrive(tmp_path: Path, bad_at: str):
    items = [api_corpus.item(1), api_corpus.item(2), api_corpus.item(99, submitted_at=bad_at)]
    store = RawStore(tmp_path / "raw")
    with hostile_api(honouring_updated_since(items)) as api:
        first = land_api(client(api.base), store, "enterprise")
        assert first.held_back == 1 and first.rows_quarantined == 1
        items.insert(2, api_corpus.item(4))  # a filing submitted the next day, before the bad one in the API's order
        second = land_api(client(api.base), store, "enterprise")
        third = land_api(client(api.base), store, "enterprise")
    assert second.rows_landed == 1 and second.held_back == 1 and third.rows_landed == 0
    assert [r[0] for r in raw_rows(store, "SELECT filing_id FROM raw.enterprise_api ORDER BY 1")] == [
        "API-2023-00001", "API-2023-00002", "API-2023-00004"]
    assert read_watermark(store, "enterprise").filing_id == "API-2023-00004"
    # Reported on every pull, kept once: each pull replaces what the last held back.
    assert raw_rows(store, "SELECT filing_id FROM raw.quarantine") == [("API-2023-00099",)]
    held = [e for e in store.ledger("enterprise") if e["source"].endswith("held-back")]
    assert len(held) == 3 and all(e["rows_quarantined"] == 1 and "held back" in e["message"] for e in held)
