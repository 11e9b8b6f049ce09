"""The gates' Data Docs, as a run leaves them under quality/docs/: they open offline, and a failed rule shows rows
that broke it. Read from the shared scenarios (tests/conftest.py); nothing is validated again here."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from expectations.data_docs import offline_page

# XML namespace names in GX's SVG logos: identifiers a browser never fetches (and a standalone SVG needs them).
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
REMOTE = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def _texts(docs: Path) -> dict[Path, str]:
    """Every generated file a browser reads as text (pages, styles, scripts, SVG); fonts and bitmaps are binary."""
    texts = {}
    for path in docs.rglob("*"):
        if path.is_file():
            try:
                texts[path] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return texts


def test_no_data_docs_file_of_a_run_loads_anything_remote(published_sample):
    docs = published_sample.home / "quality" / "docs"
    texts = _texts(docs)
    pages = [p for p in texts if p.suffix == ".html"]
    assert docs / "index.html" in texts and len(pages) > 20
    remote = {f"{p.relative_to(docs)}: {url}" for p, text in texts.items()
              for url in re.findall(r"https?://[^\s\"'<>)]+", text) if url not in NAMESPACES}
    assert not remote, sorted(remote)[:10]
    # And what the pages do load is there: every relative link resolves to a file of the site.
    for page in pages:
        for target in re.findall(r"""\b(?:src|href)=["']([^"'#]+)""", texts[page]):
            if not target.startswith(("data:", "javascript:", "mailto:")):
                assert not REMOTE.match(target), (page, target)
                assert (page.parent / target).is_file(), (page.relative_to(docs), target)


def test_a_page_rewritten_for_offline_use_is_left_alone_the_next_time():
    page = ('<html><head><script src="https://code.jquery.com/jquery.js"></script></head><body>'
            '<a href="https://greatexpectations.io">Great Expectations</a></body></html>')
    once = offline_page(page, "../../")
    assert "https://" not in once and "Great Expectations" in once and 'src="../../static/scripts/' in once
    assert offline_page(once, "../../") == once


def test_a_failed_rule_shows_the_rows_that_broke_it_on_its_page(blocked_sample):
    home = blocked_sample.home
    with duckdb.connect(str(home / "warehouse" / "build.duckdb"), read_only=True) as con:
        ((uscc,),) = con.execute("select uscc from analytics.fct_enterprise_annual "
                                 "group by uscc, period having count(*) > 1").fetchall()
    pages = sorted((home / "quality" / "docs" / "validations" / "fct_enterprise_annual").rglob("*.html"))
    newest = pages[-1].read_text(encoding="utf-8")  # <run name>/<run time>/<batch>.html: the blocked run's
    assert "one row per (uscc, period)" in newest and "Sample of the rows breaking the rule" in newest
    assert uscc in newest
    assert not any(uscc in p.read_text(encoding="utf-8") for p in pages[:-1])  # it passed before the bad delivery
