"""The stand-in reporting API, over real HTTP: uvicorn on a free loopback port, a `requests` client."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from ingestion.contracts import FAMILIES, Family, Field, Kind
from simulator.api_service import StoreError, create_app, resolve_store
from simulator.faults import FaultSpec
from tests.support import running

TOKEN = "test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHINA = dt.timezone(dt.timedelta(hours=8))
PERIODS = (2021, 2022, 2023)
# Text that JSON must escape (quotes, backslashes) or keep as is; control characters only ever in `name`, so
# columns with and without them are both served.
AWKWARD_TEXT = ('Zhongguancun "Star" Ltd', "C:\\filings\\2023", "中关村科技园区", "")
CONTROL_TEXT = "line\nbreak\ttab\x01"


# ---- a small store ----------------------------------------------------------------------------------------------


def _value(rng: np.random.Generator, field: Field) -> Any:
    if not field.required and rng.random() < 0.15:
        return None
    if field.kind is Kind.TEXT:
        awkward = AWKWARD_TEXT + ((CONTROL_TEXT,) if field.key == "name" else ())
        return str(rng.choice(awkward)) if rng.random() < 0.3 else f"{field.key}-{rng.integers(10_000)}"
    if field.kind is Kind.INT:
        return int(rng.integers(field.minimum or 0, 5_000))
    if field.kind is Kind.DECIMAL:
        low = -(10**12) if field.minimum is None else int(Decimal(str(field.minimum)).scaleb(4))
        high = 10**12 if field.maximum is None else int(Decimal(str(field.maximum)).scaleb(4))
        return Decimal(int(rng.integers(low, high + 1))).scaleb(-4)
    if field.kind is Kind.DATE:
        return dt.date(2000, 1, 1) + dt.timedelta(days=int(rng.integers(9_000)))
    if field.kind is Kind.BOOL:
        return bool(rng.random() < 0.5)
    raise AssertionError(f"no generator for {field.kind}")


def write_family(api_dir: Path, family: Family, filings: int, instants: int, seed: int) -> list[dict[str, Any]]:
    """`filings` random valid filings over PERIODS, ~30% with a revision 2, their submitted_at drawn from only
    `instants` distinct values so many rows tie; written unsorted. Returns the rows."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    seconds = rng.choice(90 * 86_400, instants, replace=False)
    micros = rng.choice([0, 0, 250_000, 7], instants)  # mostly whole seconds, as isoformat writes either way
    pool = sorted(start + dt.timedelta(seconds=int(s), microseconds=int(us)) for s, us in zip(seconds, micros))
    keys = {"filing_id", "revision", "period", "submitted_at"}
    rows = []
    for n in range(filings):
        base = {f.key: _value(rng, f) for f in family.fields if f.key not in keys}
        base["filing_id"] = f"{family.name[:3].upper()}-{rng.integers(10**6):06d}-{n}"
        base["period"] = int(rng.choice(PERIODS))
        first = int(rng.integers(len(pool) - 1))
        rows.append({**base, "revision": 1, "submitted_at": pool[first]})
        if rng.random() < 0.3:
            fixed = {f.key: _value(rng, f) for f in family.fields if f.key not in keys}
            later = int(rng.integers(first + 1, len(pool)))
            rows.append({**base, **fixed, "revision": 2, "submitted_at": pool[later]})
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    api_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=family.arrow_schema()), api_dir / f"{family.name}.parquet")
    return rows


class Store(NamedTuple):
    out: Path  # as the generator's output directory: the store is out/api/
    rows: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """enterprise (~400 rows, ~10 per instant) and zone (3 instants); no incubator or contract yet."""
    out = tmp_path_factory.mktemp("generated")
    rows = {
        "enterprise": write_family(out / "api", FAMILIES["enterprise"], 300, 40, seed=1),
        "zone": write_family(out / "api", FAMILIES["zone"], 60, 3, seed=2),
    }
    return Store(out, rows)


def wire(row: dict[str, Any]) -> dict[str, Any]:
    """A store row as a client decoding the answer with parse_float=Decimal should see it."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime):
            value = value.astimezone(CHINA).isoformat()
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[key] = value
    return out


def in_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["submitted_at"], r["filing_id"], r["revision"]))


# ---- a running service ------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now



@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def api(store, clock) -> Iterator[str]:
    """The service without faults, on the module's store and a clock the tests move."""
    with running(create_app(store.out, TOKEN, clock=clock)) as base:
        yield base


def get(base: str, family: str, **params: Any) -> requests.Response:
    return requests.get(f"{base}/v1/filings/{family}", params=params, headers=AUTH, timeout=10)


def decode(response: requests.Response) -> dict[str, Any]:
    return json.loads(response.content, parse_float=Decimal)


def pull(base: str, family: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a query, following cursors; and the number of pages."""
    items, pages, cursor = [], 0, None
    while True:
        response = get(base, family, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        answer = decode(response)
        items += answer["items"]
        pages += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            return items, pages


# ---- pages ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["enterprise", "zone"])
def test_pages_of_a_period_cover_every_record_once_in_order(api, store, family):
    for period in PERIODS:
        expected = [wire(r) for r in in_order([r for r in store.rows[family] if r["period"] == period])]
        items, pages = pull(api, family, period=period, page_size=7)
        assert items == expected
        assert pages == max(1, -(-len(expected) // 7))


def test_without_a_period_every_period_is_served(api, store):
    items, _ = pull(api, "enterprise", page_size=50)
    assert items == [wire(r) for r in in_order(store.rows["enterprise"])]
    assert {i["period"] for i in items} == set(PERIODS)
    assert any(i["revision"] == 2 for i in items)


def test_a_family_without_filings_is_an_empty_answer(api):
    response = get(api, "contract")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_an_unknown_family_is_404(api):
    response = get(api, "enterprises")
    assert response.status_code == 404
    assert "enterprise" in response.json()["detail"]


def test_items_keep_decimals_dates_and_china_time_exact(api, store):
    response = get(api, "enterprise", page_size=10_000)
    text = response.text
    items = decode(response)["items"]
    assert list(items[0]) == FAMILIES["enterprise"].keys
    row = next(r for r in store.rows["enterprise"] if r["revenue"] is not None and r["established_on"] is not None)
    item = next(i for i in items if (i["filing_id"], i["revision"]) == (row["filing_id"], row["revision"]))
    assert f'"revenue":{row["revenue"]}' in text  # the decimal's own 4 places, no float noise
    assert item["established_on"] == row["established_on"].isoformat()
    assert item["submitted_at"].endswith("+08:00")
    assert dt.datetime.fromisoformat(item["submitted_at"]) == row["submitted_at"]
    assert {i["name"] for i in items} >= {*AWKWARD_TEXT, CONTROL_TEXT}
    assert {i["industry_code"] for i in items} >= {*AWKWARD_TEXT, None}


def test_updated_since_returns_exactly_what_was_submitted_after(api, store):
    rows = in_order(store.rows["enterprise"])
    instant = rows[len(rows) // 2]["submitted_at"]  # an instant some rows carry: they are not "after" it
    expected = [wire(r) for r in rows if r["submitted_at"] > instant]
    as_china, as_naive_utc = instant.astimezone(CHINA).isoformat(), instant.replace(tzinfo=None).isoformat()
    for since in (as_china, as_naive_utc, instant.isoformat().replace("+00:00", "Z")):
        items, _ = pull(api, "enterprise", updated_since=since, page_size=33)
        assert items == expected


def test_updated_since_with_a_period(api, store):
    instant = dt.datetime(2024, 4, 1, tzinfo=dt.timezone.utc)
    rows = in_order(store.rows["enterprise"])
    expected = [wire(r) for r in rows if r["period"] == 2022 and r["submitted_at"] > instant]
    items, _ = pull(api, "enterprise", period=2022, updated_since=instant.isoformat(), page_size=9)
    assert items == expected


# ---- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_without_the_token_the_answer_is_401(api, headers):
    response = requests.get(f"{api}/v1/filings/enterprise", params={"page_size": "0"}, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert TOKEN not in response.text


def test_healthz_needs_no_token_and_counts_rows(api, store):
    counts = requests.get(f"{api}/healthz", timeout=10).json()["families"]
    rows = {family: len(store.rows.get(family, [])) for family in FAMILIES}
    assert counts == rows and counts["enterprise"] > 0


@pytest.mark.parametrize(
    "params",
    [{"page_size": 0}, {"page_size": 10_001}, {"page_size": "many"}, {"period": "last"}, {"updated_since": "yesterday"}],
)
def test_bad_parameters_are_422(api, params):
    response = get(api, "enterprise", **params)
    assert response.status_code == 422
    assert response.json()["error"] == "bad_parameter"


def test_a_tampered_cursor_is_400(api):
    cursor = get(api, "enterprise", page_size=5).json()["next_cursor"]
    body, _, signature = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["after"][2] = 1
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{signature}", cursor[:-3], "not-a-cursor", cursor + "A"):
        response = get(api, "enterprise", cursor=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"] == "bad_cursor"


def test_a_cursor_only_serves_its_own_query(api):
    cursor = get(api, "enterprise", period=2022, page_size=5).json()["next_cursor"]
    assert get(api, "enterprise", cursor=cursor).status_code == 200  # the cursor carries its query
    assert get(api, "enterprise", period=2023, cursor=cursor).status_code == 400
    assert get(api, "zone", cursor=cursor).status_code == 400


def test_a_cursor_older_than_15_minutes_is_410(api, clock):
    cursor = get(api, "enterprise", page_size=5).json()["next_cursor"]
    clock.now += 899
    assert get(api, "enterprise", cursor=cursor).status_code == 200
    clock.now += 2
    response = get(api, "enterprise", cursor=cursor)
    assert response.status_code == 410
    assert response.json()["error"] == "cursor_expired"
    assert "watermark" in response.json()["detail"]


# ---- faults -----------------------------------------------------------------------------------------------------


@contextmanager
def faulty(store, spec: str, seed: int = 5, **options: Any) -> Iterator[str]:
    with running(create_app(store.out, TOKEN, FaultSpec.parse(spec), seed, clock=FakeClock(), **options)) as base:
        yield base


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_have_json_bodies(store, status):
    with faulty(store, f"{status}=1") as base:
        response = get(base, "enterprise")
    assert response.status_code == status
    assert response.json()["error"]


def test_429_says_when_to_retry(store):
    with faulty(store, "429=1", retry_after_s=3) as base:
        response = get(base, "enterprise")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_slow_answers_late_but_right(api, store):
    with faulty(store, "slow=1", slow_s=0.4) as base:
        began = time.monotonic()
        response = get(base, "enterprise", page_size=20)
        elapsed = time.monotonic() - began
    assert elapsed >= 0.4
    assert decode(response)["items"] == decode(get(api, "enterprise", page_size=20))["items"]


def test_expire_answers_410_for_a_fresh_cursor(store):
    with faulty(store, "expire=1") as base:
        first = get(base, "enterprise", page_size=5)
        assert first.status_code == 200  # without a cursor there is nothing to expire
        response = get(base, "enterprise", cursor=first.json()["next_cursor"])
    assert response.status_code == 410
    assert response.json()["error"] == "cursor_expired"


def test_cut_sends_a_prefix_of_the_body_as_all_there_is(store):
    with faulty(store, "") as base:
        whole = get(base, "enterprise", page_size=20).content
    with faulty(store, "cut=1") as base:
        response = get(base, "enterprise", page_size=20)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) < len(whole)
    assert whole.startswith(response.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_drop_breaks_the_connection(store):
    with faulty(store, "drop=1") as base:
        with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            get(base, "enterprise", page_size=20)
        assert requests.get(f"{base}/healthz", timeout=5).ok  # the service itself carries on


def outcome(base: str) -> str:
    try:
        response = get(base, "enterprise", page_size=3)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return "drop"
    if response.status_code != 200:
        return str(response.status_code)
    try:
        response.json()
    except ValueError:
        return "cut"
    return "ok"


def test_the_fault_sequence_is_a_function_of_the_seed(store):
    spec = "429=0.15,500=0.1,502=0.1,503=0.1,cut=0.1,drop=0.1"
    runs = []
    for seed in (11, 11, 12):
        with faulty(store, spec, seed=seed, retry_after_s=0) as base:
            runs.append([outcome(base) for _ in range(40)])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert runs[0] == [FaultSpec.parse(spec).draw(11, n) or "ok" for n in range(1, 41)]
    assert {"429", "500", "502", "503", "cut", "drop", "ok"} <= set(runs[0])


def test_a_client_that_retries_gets_every_record_once(store):
    """Faults never change what a later request returns: retrying the same request through them is enough."""
    items, cursor = [], None
    with faulty(store, "429=0.1,500=0.1,503=0.1,cut=0.1,drop=0.1", seed=3, retry_after_s=0) as base:
        while True:
            try:
                response = get(base, "enterprise", page_size=25, **({"cursor": cursor} if cursor else {}))
                answer = decode(response) if response.status_code == 200 else None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, json.JSONDecodeError):
                answer = None
            if answer is None:
                continue
            items += answer["items"]
            cursor = answer["next_cursor"]
            if cursor is None:
                break
    assert items == [wire(r) for r in in_order(store.rows["enterprise"])]


@pytest.mark.parametrize(
    "spec, named",
    [
        ("429=0.1,timeout=0.2", "timeout=0.2"),
        ("500=lots", "500=lots"),
        ("slow", "slow"),
        ("500=0.6,503=0.6", "more than 1"),
    ],
)
def test_a_bad_fault_spec_names_the_problem(spec, named):
    with pytest.raises(ValueError, match=named):
        FaultSpec.parse(spec)


# ---- serve ------------------------------------------------------------------------------------------------------


def test_serve_takes_the_generator_output_and_never_logs_the_token(store, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "from pathlib import Path; from simulator.api_service import serve; "
        f"serve(Path({str(store.out)!r}), '127.0.0.1', {port}, {TOKEN!r}, '500=0.5,drop=0.3', 1)"
    )
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=sink, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                assert requests.get(f"{base}/healthz", timeout=1).json()["families"]["zone"] == len(store.rows["zone"])
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        outcomes = {outcome(base) for _ in range(20)}
        assert {"500", "drop"} <= outcomes
    finally:
        process.terminate()
        process.wait(10)
    assert TOKEN not in log.read_text()


# ---- the store --------------------------------------------------------------------------------------------------


def test_the_store_is_the_output_directory_or_its_api_folder(store, tmp_path):
    assert resolve_store(store.out) == resolve_store(store.out / "api") == store.out / "api"
    with pytest.raises(StoreError, match="no API store"):
        resolve_store(tmp_path / "nowhere")


def test_a_store_off_the_contract_is_refused_with_file_and_column(store, tmp_path):
    table = pq.read_table(store.out / "api" / "zone.parquet")
    (tmp_path / "api").mkdir()
    pq.write_table(table.drop_columns(["gdp"]), tmp_path / "api" / "zone.parquet")
    with pytest.raises(StoreError, match=r"zone\.parquet.*missing: gdp"):
        create_app(tmp_path, TOKEN)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), tmp_path / "api" / "zone.parquet")
    with pytest.raises(StoreError, match="occur more than once"):
        create_app(tmp_path, TOKEN)
