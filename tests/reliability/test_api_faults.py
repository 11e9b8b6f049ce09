"""The API channel through the real service (`ndc serve-api --faults`, its own process, over HTTP) failing at
rates: every family lands exactly what a fault-free pull lands; and a whole `ndc run` pulling through faults
publishes, with the API token in no log, no event of the Dagster instance and no file it wrote."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import requests

from ingestion.api_client import ApiClient, ApiError
from ingestion.api_landing import land_api
from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore
from simulator.faults import FaultSpec
from simulator.generate import generate
from tests.support import run_ndc, serving_api
from tests.ingestion.hostile_api import Answer, Request, hostile_api, page
from tests.support import landed_api_keys as landed

TOKEN = "ndc-secret-7f3c9a1e5b2d4c6f8a0e"  # a value that cannot occur by chance in any file or log
# Every fault the service knows, at rates that make about a third of all requests fail.
FAULTS = "429=0.06,500=0.05,502=0.04,503=0.05,slow=0.02,expire=0.05,cut=0.05,drop=0.05"
SEED = 11
RUN_FAULTS = "429=0.1,500=0.1,503=0.1,cut=0.1,drop=0.1"  # ndc run pulls pages of 5,000: few requests, more faults


@pytest.fixture(scope="module")
def api_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("api_store")
    generate(out, "sample", range(2023, 2024), seed=5, channel="api")
    return out



def serve_api(data: Path, log: Path, faults: str | None = None):
    return serving_api(data, TOKEN, log, faults, SEED)


def requests_served(base: str) -> int:
    """How many filing requests the service has answered so far: the ordinal of one more request, minus one."""
    for _ in range(50):
        try:
            answer = requests.get(f"{base}/v1/filings/zone", params={"page_size": 1},
                                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        except requests.RequestException:
            continue
        if "X-Request-Ordinal" in answer.headers:
            return int(answer.headers["X-Request-Ordinal"]) - 1
    raise AssertionError("the service never answered with its request ordinal")


def client(base: str) -> ApiClient:
    return ApiClient(base, TOKEN, page_size=25, retries=12, backoff_s=0.01, max_backoff_s=0.05)


def test_every_family_pulled_through_faults_lands_what_a_fault_free_pull_lands(api_store: Path, tmp_path: Path):
    clean, faulty = RawStore(tmp_path / "clean"), RawStore(tmp_path / "faulty")
    with serve_api(api_store, tmp_path / "clean.log") as base:
        for family in FAMILIES:
            land_api(client(base), clean, family)
    with serve_api(api_store, tmp_path / "faulty.log", FAULTS) as base:
        for family in FAMILIES:
            land_api(client(base), faulty, family)
        served = requests_served(base)
    spec = FaultSpec.parse(FAULTS)
    injected = Counter(kind for i in range(1, served + 1) if (kind := spec.draw(SEED, i)))
    print(f"\n{served} requests, {sum(injected.values())} faults injected: {dict(sorted(injected.items()))}")
    assert set(injected) == set(dict(spec.rates)), "every kind of fault was injected at least once"
    assert sum(injected.values()) >= 60
    for family in FAMILIES:
        assert landed(faulty, family) == landed(clean, family), family
        assert landed(clean, family), family
    for log in ("clean.log", "faulty.log"):
        assert TOKEN not in (tmp_path / log).read_text()


def files_holding(root: Path, secret: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


@pytest.mark.slow
def test_a_run_pulling_the_api_through_faults_beside_the_file_drops_publishes_both_and_the_token_is_nowhere(
        tmp_path: Path):
    # As an operator would: `ndc generate` writes a year to both channels, `ndc serve-api` serves its API half
    # through faults, and one `ndc run` lands the drops and pulls the API together.
    home = tmp_path / "ndc"
    generated = run_ndc(home, "generate", "--years", "2023", "--channel", "both", "--seed", "9")
    assert generated.returncode == 0, generated.stderr
    with serve_api(home, tmp_path / "server.log", RUN_FAULTS) as base:
        result = run_ndc(home, "run", env={"NDC_API_URL": base, "NDC_API_TOKEN": TOKEN})
        served = requests_served(base)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "raw/enterprise_api:" in result.stdout and "raw/enterprise_files:" in result.stdout
    with duckdb.connect(str(home / "warehouse" / "serving.duckdb"), read_only=True) as con:
        channels = dict(con.execute(
            "SELECT source_channel, count(*) FROM analytics.fct_enterprise_annual GROUP BY 1").fetchall())
    assert channels.get("files", 0) > 0 and channels.get("api", 0) > 0, channels
    faults = sum(1 for i in range(1, served + 1) if FaultSpec.parse(RUN_FAULTS).draw(SEED, i))
    print(f"\nndc run: {served} requests, {faults} faults injected")
    assert "PUBLISHED" in result.stdout and faults >= 3
    for family in FAMILIES:
        assert landed(RawStore(home / "raw"), family)
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN not in (tmp_path / "server.log").read_text()
    # Dagster's event log and run storage, the raw layer's ledger, dbt's logs, the quality results: none holds it.
    assert files_holding(home, TOKEN.encode()) == []
    assert (home / "dagster").is_dir() and any((home / "dagster").rglob("*.db"))


# ---- a hostile or broken server, scripted answer by answer ------------------------------------------------------

ZONE_ITEM = {"filing_id": "ZON-1", "revision": 1, "period": 2023, "submitted_at": "2024-03-01T10:00:00+08:00",
             "zone_code": "Z001", "zone_name": "中关村"}


def zone_item(n: int) -> dict:
    return {**ZONE_ITEM, "filing_id": f"ZON-{n}", "submitted_at": f"2024-03-01T10:00:{n:02d}+08:00"}


def quick_client(base: str, **kw) -> ApiClient:
    """Retries in milliseconds: a test of the retry policy runs in a second or two."""
    return ApiClient(base, TOKEN, page_size=10, **{"retries": 3, "backoff_s": 0.01, "max_backoff_s": 0.02, **kw})


def always(answer: Answer, limit: int = 200) -> Callable[[Request], Answer]:
    """`answer` to every request; past `limit` requests a 404, so a client that never stops still ends."""
    count = {"n": 0}

    def script(request: Request) -> Answer:
        count["n"] += 1
        return answer if count["n"] <= limit else Answer(404, {"error": "test limit reached"})

    return script


def pull(client: ApiClient, family: str = "zone") -> list:
    return [item for page in client.walk(family, None) for item in page.items]


def test_a_server_that_always_fails_gets_the_policy_s_attempts_and_no_more():
    with hostile_api(always(Answer(503, {"error": "unavailable"}))) as api:
        with pytest.raises(ApiError, match="gave up after 4 attempts"):
            pull(quick_client(api.base, retries=3))
    assert len(api.requests) == 4  # not urllib3's retries inside the client's own: 4 x 4


def test_retrying_a_server_that_always_fails_stops_within_the_time_budget():
    with hostile_api(always(Answer(503, {"error": "unavailable"}))) as api:
        client = quick_client(api.base, retries=10_000, backoff_s=0.05, max_backoff_s=0.2, retry_budget_s=1.0)
        started = time.monotonic()
        with pytest.raises(ApiError, match="retry budget of 1 s") as info:
            pull(client)
        elapsed = time.monotonic() - started
    assert 2 <= len(api.requests) < 100
    assert f"after {len(api.requests)} attempts" in str(info.value)
    assert elapsed < 1.0 + 2.0  # the budget, and the last request's own time


def test_retry_after_is_honoured_and_one_beyond_the_budget_is_not_waited_for():
    answers = iter([Answer(429, {"error": "slow down"}, {"Retry-After": "2"}), page([zone_item(1)])])
    slept: list[float] = []
    with hostile_api(lambda request: next(answers)) as api:
        assert len(pull(quick_client(api.base, sleep=slept.append))) == 1
    assert slept and slept[0] >= 2

    slept.clear()
    with hostile_api(always(Answer(429, {"error": "slow down"}, {"Retry-After": "3600"}))) as api:
        with pytest.raises(ApiError, match="Retry-After of 3600 s"):
            pull(quick_client(api.base, retry_budget_s=60, sleep=slept.append))
    assert len(api.requests) == 1 and slept == []


def test_a_200_with_an_html_page_is_named_as_such_not_as_a_cut_body():
    login = Answer(200, "<!DOCTYPE html><html><body>请登录</body></html>", {"Content-Type": "text/html; charset=utf-8"})
    with hostile_api(always(login)) as api:
        with pytest.raises(ApiError, match="answered 200 with an HTML page, not JSON") as info:
            pull(quick_client(api.base))
    assert "cut in transit" not in str(info.value)
    assert len(api.requests) == 1  # not retried: the same page would come again


@pytest.mark.parametrize("body, named", [
    ({"items": None, "next_cursor": None}, "items is null"),
    ({"next_cursor": None}, "has no items"),
    ({"items": {"filing_id": "ZON-1"}, "next_cursor": None}, "items is an object, not a list"),
    ([zone_item(1)], "a list, not an object"),
    ({"items": [], "next_cursor": 7}, "next_cursor is a number"),
])
def test_a_200_with_json_that_is_no_page_is_named_as_such(body, named: str):
    with hostile_api(always(Answer(200, body))) as api:
        with pytest.raises(ApiError, match=named) as info:
            pull(quick_client(api.base))
    assert "cut in transit" not in str(info.value)


def test_a_server_repeating_its_next_cursor_is_stopped_with_the_position_not_the_token():
    repeated_cursor = "opaque-cursor-4c1d"

    def script(request: Request) -> Answer:
        if len(api.requests) > 20:
            return Answer(404, {"error": "test limit reached"})
        n = len(api.requests)
        return page([zone_item(n)], repeated_cursor)

    with hostile_api(script) as api:
        with pytest.raises(ApiError, match=r"zone: .*page 2 with the same next_cursor .* page 1") as info:
            pull(quick_client(api.base))
    assert repeated_cursor not in str(info.value)
    assert len(api.requests) == 2


def test_a_redirect_to_another_host_is_refused_and_that_host_gets_nothing():
    with hostile_api(always(page([zone_item(1)]))) as elsewhere:
        moved = Answer(302, b"", {"Location": f"{elsewhere.base}/v1/filings/zone"})
        with hostile_api(always(moved)) as api:
            with pytest.raises(ApiError, match="redirected to another host") as info:
                pull(quick_client(api.base))
    assert elsewhere.requests == []
    assert elsewhere.base.rsplit(":", 1)[1] in str(info.value)  # the operator sees where it was sent


def test_a_redirect_on_the_same_host_is_followed():
    def script(request: Request) -> Answer:
        if request.path == "/v1/filings/zone":
            return Answer(307, b"", {"Location": "/v2/filings/zone?page_size=10"})
        return page([zone_item(1)])

    with hostile_api(script) as api:
        assert len(pull(quick_client(api.base))) == 1
    assert api.requests[-1].headers.get("Authorization") == f"Bearer {TOKEN}"


def test_a_server_echoing_the_token_back_never_gets_it_into_errors_or_logs(caplog):
    def echo(status: int) -> Callable[[Request], Answer]:
        return always(Answer(status, {"error": "bad", "detail": f"you sent Authorization: {request_auth[0]}"}))

    request_auth = [f"Bearer {TOKEN}"]
    caplog.set_level(logging.DEBUG)
    for status in (400, 503, 500):
        with hostile_api(echo(status)) as api:
            with pytest.raises(ApiError) as info:
                pull(quick_client(api.base, retries=1))
        assert api.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in str(info.value), status
        assert "you sent" in str(info.value) or status != 400  # the body is still shown, redacted
    assert TOKEN not in caplog.text
