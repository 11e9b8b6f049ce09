"""The national reporting system's API: every filing submitted after a watermark, each exactly once.

`GET {base}/v1/filings/{family}?updated_since=…&cursor=…&page_size=…` answers pages ordered by
(submitted_at, filing_id, revision). The service is not perfectly reliable, so:

- status failures (429 with `Retry-After`, 500/502/503/504) and failed connections are retried by urllib3's
  `Retry`, with exponential backoff and jitter, honouring `Retry-After`;
- failures urllib3 cannot see, a body cut short (invalid JSON) or a connection dropped mid-body, are retried here,
  with the same backoff;
- a cursor that expired (410) restarts the walk from the watermark, the last item landed, so nothing is skipped
  and, because items at or before the watermark are dropped, nothing is landed twice.

The token is sent as a header and never appears in an error message or a log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)


class ApiError(RuntimeError):
    """The API could not be read; the message says what to do. It never contains the token."""


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
    items: list[dict]  # numbers with a fraction stay text, exactly as sent (no float rounding)
    cursor: str | None  # the cursor that fetched this page (None for the first of a walk)
    next_cursor: str | None
    body_bytes: int
    sha256: str  # of the body as received


def _instant(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _key(item: dict) -> tuple[float, str, int]:
    return (_instant(item["submitted_at"]), item["filing_id"], int(item["revision"]))


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        page_size: int = 5000,
        retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        timeout_s: tuple[float, float] = (5.0, 120.0),
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        retry = Retry(
            total=retries,
            backoff_factor=backoff_s,
            backoff_max=max_backoff_s,
            backoff_jitter=backoff_s,
            status_forcelist=RETRY_STATUSES,
            allowed_methods={"GET"},
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def close(self) -> None:
        self.session.close()

    def walk(self, family: str, after: Watermark | None) -> Iterator[Page]:
        """Every item submitted after `after`, page by page, in the API's order. The caller lands each page and
        advances its watermark; if a cursor expires the walk restarts from the last item it yielded."""
        last = after
        restarts = 0
        while True:
            cursor: str | None = None
            params = {"page_size": self.page_size}
            if last is not None:
                # updated_since is exclusive of its instant; items tied with the watermark come back and are dropped.
                params["updated_since"] = _just_before(last.submitted_at)
            try:
                while True:
                    body = self._get(family, {**params, "cursor": cursor} if cursor else params)
                    items = body["items"]
                    if last is not None and items and _key(items[0]) <= last.sort_key:
                        # Only the first page after a (re)start can hold items tied with the watermark.
                        items = [i for i in items if _key(i) > last.sort_key]
                    page = Page(items, cursor, body.get("next_cursor"), body["_bytes"], body["_sha256"])
                    if page.items:
                        yield page
                        tail = page.items[-1]
                        last = Watermark(tail["submitted_at"], tail["filing_id"], int(tail["revision"]))
                    cursor = page.next_cursor
                    if not cursor:
                        return
            except _CursorExpired:
                restarts += 1
                if restarts > self.retries:
                    raise ApiError(f"{family}: the API expired {restarts} cursors in a row; try again later") from None
                log.info("%s: cursor expired, restarting from the watermark", family)

    def _get(self, family: str, params: dict) -> dict:
        url = f"{self.base_url}/v1/filings/{family}"
        for attempt in range(self.retries + 1):
            try:
                response = self.session.get(url, params=params, timeout=self.timeout_s)
                content = response.content  # a connection dropped mid-body raises here
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code == 410:
                    raise _CursorExpired()
                if response.status_code == 401:
                    raise ApiError(f"{url}: 401 Unauthorized: check NDC_API_TOKEN")
                if response.status_code in RETRY_STATUSES:
                    problem = f"HTTP {response.status_code} after urllib3's retries"
                elif response.status_code != 200:
                    raise ApiError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
                else:
                    try:
                        body = json.loads(content, parse_float=str)  # decimals keep their exact digits
                        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                            raise ValueError("not a page")
                        body["_bytes"] = len(content)
                        body["_sha256"] = hashlib.sha256(content).hexdigest()
                        return body
                    except ValueError:
                        problem = f"an invalid JSON body ({len(content)} bytes): cut in transit"
            if attempt == self.retries:
                raise ApiError(f"{url}: {problem}; gave up after {self.retries + 1} attempts")
            delay = min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            log.info("%s: %s; retrying in %.1f s", family, problem, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")


class _CursorExpired(Exception):
    pass


def _just_before(iso: str) -> str:
    """The instant one microsecond before `iso`, so `updated_since` (exclusive) includes `iso` itself."""
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(iso) - timedelta(microseconds=1)).isoformat()
