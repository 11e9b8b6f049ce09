"""The API's bad input: items of another shape, and answers that are no page, each with the outcome it must get.

Rendered into the "API" section of `ingestion/BAD_INPUT.md` by `bad_input_corpus.render()`. Item cases are landed
one by one by `test_api_landing.py` (a page of a good item, the bad one, another good one, from a scripted server
on loopback); channel cases name the test in `tests/reliability/test_api_faults.py` that shows their outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingestion.contracts import ENTERPRISE
from ingestion.uscc import check_character

USCC = "91110101MA0000001" + check_character("91110101MA0000001")

QUARANTINED = "item quarantined"  # in raw.quarantine, the reason naming page, item and field; the page's others land
KEPT = "kept as delivered"  # valid input in another spelling: landed
HELD = "item quarantined, watermark held"  # quarantined, and the watermark stays on the last item landed before it
STOPPED = "pull stops with an error"  # nothing of the answer lands; the error names it; the watermark stays


def item(n: int, **changes: object) -> dict:
    """A valid 2023 enterprise item as the API sends it: every key, JSON types."""
    base: dict[str, object] = {f.key: None for f in ENTERPRISE.fields}
    base.update({"filing_id": f"API-2023-{n:05d}", "revision": 1, "period": 2023,
                 "submitted_at": f"2024-03-15T10:00:{n:02d}+08:00", "uscc": USCC,
                 "name": f"北京接口科技有限公司{n}", "region_code": "110101", "employees": 120, "st_staff": 30,
                 "revenue": 56000.5, "listed": False, "established_on": "2015-06-01"})
    base.update(changes)
    return base


def without(key: str) -> Callable[[], object]:
    def build() -> object:
        bad = item(3)
        del bad[key]
        return bad
    return build


@dataclass(frozen=True)
class ApiCase:
    key: str
    what: str
    outcome: str
    expect: str  # the quarantine rule, what lands, or a fragment of the error
    build: Callable[[], object] | None = None  # the bad item; None for a channel case
    test: str = ""  # the test showing a channel case


ITEM_CASES: tuple[ApiCase, ...] = (
    ApiCase("whole_number_decimal", "a whole number (3386) where others send a decimal (3386.0)", KEPT,
            "revenue lands as 3386", lambda: item(3, revenue=3386)),
    ApiCase("numeric_string", "a count sent as a string (\"120\")", QUARANTINED, "shape:employees",
            lambda: item(3, employees="120")),
    ApiCase("decimal_as_string", "an amount sent as a string (\"56000.5\")", QUARANTINED, "shape:revenue",
            lambda: item(3, revenue="56000.5")),
    ApiCase("bool_word", "a yes/no field sent as 否", QUARANTINED, "shape:listed", lambda: item(3, listed="否")),
    ApiCase("nested_object", "an object in an amount", QUARANTINED, "shape:revenue",
            lambda: item(3, revenue={"value": 56000.5, "unit": "千元"})),
    ApiCase("nested_list", "a list in a text field", QUARANTINED, "shape:name", lambda: item(3, name=["北京", "科技"])),
    ApiCase("huge_integer", "10**30 in a count", QUARANTINED, "type:employees", lambda: item(3, employees=10**30)),
    ApiCase("huge_amount", "10**30 in an amount", QUARANTINED, "type:revenue", lambda: item(3, revenue=10**30)),
    ApiCase("nan", "NaN in an amount (not JSON, but Python and JavaScript encoders write it)", QUARANTINED,
            "shape:revenue", lambda: item(3, revenue=float("nan"))),
    ApiCase("item_is_list", "an item that is a list, not an object", QUARANTINED, "shape:item",
            lambda: list(item(3).values())),
    ApiCase("missing_key", "an item without one of its keys (listed)", QUARANTINED, "shape:listed", without("listed")),
    ApiCase("missing_filing_id", "an item without filing_id", QUARANTINED, "shape:filing_id", without("filing_id")),
    ApiCase("future_submission", "submitted_at in 2099 (sorts after every other item)", HELD,
            "rule:submitted_not_in_future", lambda: item(99, submitted_at="2099-01-01T00:00:00+08:00")),
    ApiCase("unparsable_submitted_at", "a submitted_at that is no instant (上周三)", HELD, "type:submitted_at",
            lambda: item(99, submitted_at="上周三")),
)

CHANNEL_CASES: tuple[ApiCase, ...] = (
    ApiCase("always_failing", "a server that always answers 503", STOPPED, "gave up after 9 attempts",
            test="test_a_server_that_always_fails_gets_the_policy_s_attempts_and_no_more"),
    ApiCase("slow_failures", "failures that would take longer than the retry budget", STOPPED,
            "would pass the retry budget of 600 s (NDC_API_RETRY_BUDGET_S)",
            test="test_retrying_a_server_that_always_fails_stops_within_the_time_budget"),
    ApiCase("long_retry_after", "Retry-After beyond the retry budget", STOPPED, "the server's Retry-After of … s",
            test="test_retry_after_is_honoured_and_one_beyond_the_budget_is_not_waited_for"),
    ApiCase("html_page", "200 with an HTML page (a login or proxy page)", STOPPED,
            "the API answered 200 with an HTML page, not JSON",
            test="test_a_200_with_an_html_page_is_named_as_such_not_as_a_cut_body"),
    ApiCase("items_null", "200 with `{\"items\": null}`, no items, items not a list, a body that is a list",
            STOPPED, "items is null (has no items, …)", test="test_a_200_with_json_that_is_no_page_is_named_as_such"),
    ApiCase("repeated_cursor", "the same next_cursor sent again", STOPPED,
            "answered page N with the same next_cursor it sent with page M",
            test="test_a_server_repeating_its_next_cursor_is_stopped_with_the_position_not_the_token"),
    ApiCase("cross_host_redirect", "a redirect to another host", STOPPED, "redirected to another host; refused",
            test="test_a_redirect_to_another_host_is_refused_and_that_host_gets_nothing"),
    ApiCase("token_echoed", "an error body echoing the Authorization header", STOPPED,
            "the body is shown with the token as [redacted]",
            test="test_a_server_echoing_the_token_back_never_gets_it_into_errors_or_logs"),
)


def render_lines() -> list[str]:
    lines = [
        "## API",
        "",
        "Rendered from `tests/ingestion/api_bad_input_corpus.py`. Item cases are landed one by one by",
        "`tests/ingestion/test_api_landing.py`; channel cases are shown by the named test in",
        "`tests/reliability/test_api_faults.py`. Outcomes:",
        "",
        f"- **{QUARANTINED}**: the item goes to `raw.quarantine` with its rule; the reason starts with the page (its",
        "  number in the pull) and the item, and names the field. The page's other items land.",
        f"- **{KEPT}**: valid input in another spelling, landed.",
        f"- **{HELD}**: quarantined, and the watermark stays on the last item landed before it, so later",
        "  filings still arrive; every pull fetches and reports it again (`raw.ingest_accounting`, source",
        "  `api/<family>/held-back`, and the run report's \"held back\") until the API corrects it.",
        f"- **{STOPPED}**: nothing of that answer lands, the watermark stays, the error names the problem and",
        "  never holds the token.",
        "",
        f"{len(ITEM_CASES) + len(CHANNEL_CASES)} classes:",
        "",
        "| # | case | what is wrong | outcome | rule, what lands, or the error |",
        "|---|---|---|---|---|",
    ]
    for i, case in enumerate((*ITEM_CASES, *CHANNEL_CASES), 1):
        what, expect = case.what.replace("|", "\\|"), case.expect.replace("|", "\\|")
        lines.append(f"| {i} | `{case.key}` | {what} | {case.outcome} | {expect} |")
    return lines
