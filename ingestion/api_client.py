"""The national reporting system's API: every filing submitted after a watermark, each exactly once.

`GET {base}/v1/filings/{family}?updated_since=…&cursor=…&page_size=…` answers pages ordered by
(submitted_at, filing_id, revision). The service is not perfectly reliable, so:

- every failure worth retrying (429 with `Retry-After`, 500/502/503/504, a failed or dropped connection, a body cut
  short) is retried by one `RetryPolicy`: a number of attempts, exponential backoff with jitter, `Retry-After`
  honoured, and a time budget per page after which the pull stops with an error instead of waiting on;
- a cursor that expired (410) restarts the walk from the watermark, the last item landed, so nothing is skipped
  and, because items at or before the watermark are dropped, nothing is landed twice;
- an answer that is no page (an HTML page, `items` null, a cursor repeated, a redirect to another host) stops the
  pull with an error naming it: retrying would get the same answer, and following another host would send it
  the query.

The token is sent as a header and never appears in an error message or a log line: what a server sends back is
redacted before it is shown, as a hostile server can echo the header.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from ingestion.escaping import excerpt

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
# Long enough to ride out a service restart, short enough that a nightly pull stuck on one page is noticed.
DEFAULT_RETRY_BUDGET_S = 600.0
BODY_EXCERPT = 300  # characters of an error body shown to the operator


class ApiError(RuntimeError):
    """The API could not be read; the message says what to do. It never contains the token."""


class Number(str):
    """A JSON number with a fraction or an exponent, kept as the text it was sent as (no float rounding); a str
    subclass so that it can be told apart from a JSON string holding digits."""


@dataclass(frozen=True, order=True)
class Watermark:
    """The key of the last item landed: the walk resumes after it."""

    submitted_at: str  # ISO 8601 as the API sent it
    filing_id: str
    revision: int

    @property
    def sort_key(self) -> tuple[float, str, int]:
        return (_instant(self.submitted_at), self.filing_id, self.revision)


@dataclass(frozen=True)
class Page:
    items: list  # decoded JSON, normally objects; numbers with a fraction are `Number` (text exactly as sent)
    cursor: str | None  # the cursor that fetched this page (None for the first of a walk)
    next_cursor: str | None
    body_bytes: int
    sha256: str  # of the body as received
    number: int = 1  # the page's position in its walk, from 1: how an operator finds it again
    offset: int = 0  # items of the body before the first of `items` (tied with the watermark, or split off)


@dataclass(frozen=True)
class RetryPolicy:
    """How every failure worth retrying is retried, and when to stop.

    At most `attempts` requests per page; between two, an exponential backoff with jitter, or the server's
    `Retry-After` when it asks for longer; and never past `budget_s` from the page's first request: a wait that
    would end beyond it is not started."""

    attempts: int = 9
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    budget_s: float = DEFAULT_RETRY_BUDGET_S

    def backoff(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row: half to all of the doubled backoff, so clients that
        failed together do not come back together."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)


class _Attempts:
    """One page's requests under a `RetryPolicy`: says how long the next may take, and after a failure how long
    to wait, or raises when the attempts or the time budget are spent."""

    def __init__(self, policy: RetryPolicy, what: str, clock: Callable[[], float]):
        self.policy, self.what, self.clock = policy, what, clock
        self.started = clock()
        self.failures = 0

    def read_timeout(self, wanted: float) -> float:
        """A request's read timeout, cut so that it ends within the budget."""
        return max(0.1, min(wanted, self.policy.budget_s - (self.clock() - self.started)))

    def failed(self, problem: str, retry_after: float | None = None) -> float:
        self.failures += 1
        elapsed = self.clock() - self.started
        spent = f"gave up after {self.failures} attempts in {elapsed:.1f} s"
        if self.failures >= self.policy.attempts:
            raise ApiError(f"{self.what}: {problem}; {spent}")
        wait = max(self.policy.backoff(self.failures), retry_after or 0.0)
        if elapsed + wait > self.policy.budget_s:
            asked = f"the server's Retry-After of {retry_after:g} s" if retry_after and retry_after >= wait else \
                f"another wait of {wait:.1f} s"
            raise ApiError(
                f"{self.what}: {problem}; {spent}: {asked} would pass the retry budget of {self.policy.budget_s:g} s "
                "(NDC_API_RETRY_BUDGET_S); run again later"
            )
        return wait


def _retry_after(response: requests.Response) -> float | None:
    """`Retry-After` in seconds, from either of its forms (seconds, or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str, token: str) -> str:
    """`text` without the token, and without any other bearer credential it quotes."""
    if token:
        text = text.replace(token, "[redacted]")
    return _BEARER.sub(r"\1\2[redacted]", text)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Number)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _instant(iso: str) -> float:
    """Seconds since the epoch; an instant without an offset is UTC, as the typing query reads it."""
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def item_key(item: object) -> tuple[float, str, int] | None:
    """An item's place in the API's order, or None when it carries no usable key (not an object, a submitted_at
    that is no ISO 8601 instant, a filing_id that is no text, a revision that is no whole number)."""
    if not isinstance(item, dict):
        return None
    submitted, filing_id, revision = item.get("submitted_at"), item.get("filing_id"), item.get("revision")
    if type(submitted) is not str or type(filing_id) is not str or type(revision) is not int:
        return None
    try:
        return (_instant(submitted), filing_id, revision)
    except ValueError:
        return None


def watermark_of(item: dict) -> Watermark:
    """The watermark after an item whose `item_key` is not None."""
    return Watermark(item["submitted_at"], item["filing_id"], item["revision"])


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme))


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        page_size: int = 5000,
        retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        retry_budget_s: float = DEFAULT_RETRY_BUDGET_S,
        timeout_s: tuple[float, float] = (5.0, 120.0),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.retry = RetryPolicy(retries + 1, backoff_s, max_backoff_s, retry_budget_s)
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.clock = clock
        self._token = token
        # requests' default adapter does not retry: every retry is the policy's, so its bound is the only one.
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def walk(self, family: str, after: Watermark | None) -> Iterator[Page]:
        """Every item submitted after `after`, page by page, in the API's order. The caller lands each page and
        advances its watermark; if a cursor expires the walk restarts from the last item it yielded."""
        last = after
        expiries = _Attempts(self.retry, f"{family}: restarting after expired cursors", self.clock)
        number = 0
        while True:
            cursor: str | None = None
            params = {"page_size": self.page_size}
            if last is not None:
                # updated_since is exclusive of its instant; items tied with the watermark come back and are dropped.
                params["updated_since"] = _just_before(last.submitted_at)
            followed: dict[str, int] = {}  # digest of each cursor followed since the (re)start -> page it came with
            try:
                while True:
                    body = self._get(family, {**params, "cursor": cursor} if cursor else params, number + 1)
                    number += 1
                    items = received = body["items"]
                    if last is not None and items:
                        # Only the first page after a (re)start can hold items tied with the watermark. An item
                        # without a usable key cannot be placed, so it is kept: landing quarantines it.
                        items = [i for i in items if (key := item_key(i)) is None or key > last.sort_key]
                    page = Page(items, cursor, body["next_cursor"], body["_bytes"], body["_sha256"], number,
                                len(received) - len(items))
                    if page.items:
                        yield page
                        keyed = [i for i in page.items if item_key(i) is not None]
                        if keyed:
                            last = watermark_of(keyed[-1])
                        expiries = _Attempts(self.retry, expiries.what, self.clock)
                    cursor = page.next_cursor
                    if not cursor:
                        return
                    digest = hashlib.sha256(cursor.encode()).hexdigest()
                    if digest in followed:
                        raise ApiError(
                            f"{family}: the API answered page {number} with the same next_cursor it sent with page "
                            f"{followed[digest]}; following it would loop forever. The watermark stays on what was "
                            "landed before; report the repeating cursor to the reporting system's operators"
                        )
                    followed[digest] = number
            except _CursorExpired:
                self.sleep(expiries.failed("the API expired the cursor"))
                log.info("%s: cursor expired, restarting from the watermark", family)

    def _get(self, family: str, params: dict, number: int) -> dict:
        url = f"{self.base_url}/v1/filings/{family}"
        attempts = _Attempts(self.retry, f"{url} (page {number})", self.clock)
        while True:
            retry_after = None
            try:
                timeout = (self.timeout_s[0], attempts.read_timeout(self.timeout_s[1]))
                response = self._send(url, params, timeout)
                content = response.content  # a connection dropped mid-body raises here
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code == 410:
                    raise _CursorExpired()
                if response.status_code == 401:
                    raise ApiError(f"{url}: 401 Unauthorized: check NDC_API_TOKEN")
                if response.status_code in RETRY_STATUSES:
                    problem = f"HTTP {response.status_code}: {self._excerpt(response)}"
                    retry_after = _retry_after(response)
                elif response.status_code != 200:
                    raise ApiError(f"{url}: HTTP {response.status_code}: {self._excerpt(response)}")
                else:
                    try:
                        body = json.loads(content, parse_float=Number)  # decimals keep their exact digits
                    except ValueError:
                        if _looks_like_html(response, content):
                            raise ApiError(
                                f"{url}: the API answered 200 with an HTML page, not JSON ({len(content)} bytes, "
                                f"Content-Type {response.headers.get('Content-Type') or 'none'}): a login or proxy "
                                "page in front of the API? Check NDC_API_URL"
                            ) from None
                        problem = f"an invalid JSON body ({len(content)} bytes): cut in transit"
                    else:
                        _check_page(url, body)
                        body["_bytes"] = len(content)
                        body["_sha256"] = hashlib.sha256(content).hexdigest()
                        return body
            wait = attempts.failed(problem, retry_after)
            log.info("%s: %s; retrying in %.1f s", family, problem, wait)
            self.sleep(wait)

    def _send(self, url: str, params: dict | None, timeout: tuple[float, float]) -> requests.Response:
        """GET, following redirects on the API's own host only: another host would get the query (requests drops
        the token on the way, but the pull would read whatever that host answers)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(url, params=params, timeout=timeout, allow_redirects=False)
            if response.status_code not in REDIRECT_STATUSES:
                return response
            target = urljoin(response.url, response.headers.get("Location", ""))
            if _origin(target) != _origin(self.base_url):
                scheme, host, port = _origin(target)
                response.close()
                raise ApiError(
                    f"{url}: the API redirected to another host ({scheme}://{host}:{port}); refused, so that host "
                    "gets neither the query nor the token. If the API moved, set NDC_API_URL to its new address"
                )
            response.close()
            url, params = target, None
        raise ApiError(f"{url}: more than {MAX_REDIRECTS} redirects in a row; check NDC_API_URL")

    def _excerpt(self, response: requests.Response) -> str:
        """The start of an error body, safe to show: no token, no line breaks."""
        text = " ".join(response.text[: BODY_EXCERPT * 2].split())
        # An error body is the server's text: redacted, then escaped and cut like any delivered value.
        return excerpt(redact(text, self._token), BODY_EXCERPT) or "(empty body)"


def _looks_like_html(response: requests.Response, content: bytes) -> bool:
    return "html" in response.headers.get("Content-Type", "").lower() or content.lstrip()[:1] == b"<"


def _check_page(url: str, body: object) -> None:
    """A 200 whose JSON is not `{"items": [...], "next_cursor": "..." | null}` is named, not guessed at."""
    problem = None
    if not isinstance(body, dict):
        problem = f"the body is {_json_type(body)}, not an object with items"
    elif "items" not in body:
        problem = "the body has no items"
    elif body["items"] is None:
        problem = "items is null"
    elif not isinstance(body["items"], list):
        problem = f"items is {_json_type(body['items'])}, not a list"
    elif body.get("next_cursor") is not None and type(body["next_cursor"]) is not str:
        problem = f"next_cursor is {_json_type(body['next_cursor'])}, not a string or null"
    if problem:
        raise ApiError(f"{url}: the API answered 200 with JSON that is no page of filings: {problem}; "
                       "report it to the reporting system's operators")
    body.setdefault("next_cursor", None)


class _CursorExpired(Exception):
    pass


def _just_before(iso: str) -> str:
    """The instant one microsecond before `iso`, so `updated_since` (exclusive) includes `iso` itself."""
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(iso) - timedelta(microseconds=1)).isoformat()
