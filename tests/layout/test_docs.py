"""The README is an entry point and docs/ holds the rest: the README stays short, every relative link in them
resolves to a file in the tree, and they describe the system, not the project's history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]

# [text](target) and [text](target "title"); images too. Targets with a scheme or starting with # are not files.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
# A database or browser session is the system; a working session of the people who built it is the project's log.
TRACKER_TALK = re.compile(
    r"\bissue\s*#?\d|\b(?:this|last|earlier|previous|next|helper|working)\s+sessions?\b|\bsession note", re.IGNORECASE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    targets = (m.group(1) for m in LINK.finditer(text))
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def test_readme_is_at_most_200_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"


def test_docs_exist():
    assert DOCS, "docs/ holds no markdown"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_to_existing_files(page: Path):
    broken = []
    for target in relative_links(page):
        path = target.split("#", 1)[0]
        if not (page.parent / path).resolve().exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_issue_tracker_talk(page: Path):
    hits = [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if TRACKER_TALK.search(line)
    ]
    assert not hits, f"{page.relative_to(REPO)} talks about the project's log, not the system: {hits}"


def test_benchmark_page_has_the_clean_clone_test_time_section():
    benchmark = REPO / "docs" / "benchmark.md"
    assert benchmark.exists()
    headings = [line.lstrip("#").strip() for line in benchmark.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    assert "Clean-clone test time" in headings
