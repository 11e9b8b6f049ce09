"""Great Expectations' Data Docs made to open offline.

GX 1.x writes every page with links to some fifteen CDN assets (Bootstrap, jQuery, bootstrap-table, Font Awesome,
Vega, a logo) and links to its own site; offline, or on a machine that must not reach those hosts, the index lists no
result and the pages lose their layout. GX offers no setting that replaces these links (`custom_styles_directory`
adds a stylesheet, it removes none; `custom_views_directory` would mean keeping copies of its page templates in step
with each release), and no pip package in our dependencies ships those libraries. So after each build every page is
rewritten: the remote assets are dropped, links out become plain text, and two small files of our own take the
libraries' place (data_docs_static/: the styles the pages use, and the handful of jQuery/Bootstrap calls their inline
scripts make, including the index's table of results).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

STATIC = Path(__file__).with_name("data_docs_static")
MARKER = "ndc-offline"  # in every page already rewritten

_REMOTE = r"""["'](?:https?:)?//[^"']*["']"""
_REMOTE_SCRIPT = re.compile(rf"<script\b[^>]*\bsrc={_REMOTE}[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(rf"<link\b[^>]*\bhref={_REMOTE}[^>]*>", re.I)
_REMOTE_IMAGE = re.compile(rf"<img\b[^>]*\bsrc={_REMOTE}[^>]*>", re.I)
_LINK_OUT = re.compile(rf"<a\b[^>]*\bhref={_REMOTE}[^>]*>(.*?)</a>", re.I | re.S)
_NEWSLETTER = re.compile(r"<footer>\s*<p>[^<]*newsletter.*?</footer>", re.I | re.S)
# Inline SVG needs no namespace declaration in HTML, and a generator's address is no resource.
_SVG_NAMESPACE = re.compile(r"""\s+xmlns(?::\w+)?=["']http://www\.w3\.org/[^"']*["']""")
_GENERATOR_LINK = re.compile(r"""\s*<!--[^>]*?https?://.*?-->""", re.S)
_FAVICON = re.compile(r"""href=["'][./]*static/images/favicon\.ico["']""")
_REMOTE_BACKGROUND = re.compile(r"""url\(\s*["']?(?:https?:)?//[^)]*\)""", re.I)


def offline_page(text: str, to_root: str) -> str:
    """`text` of one page with nothing remote left; `to_root` is the relative path from the page to the site."""
    if MARKER in text:
        return text
    for pattern in (_REMOTE_SCRIPT, _REMOTE_LINK, _REMOTE_IMAGE, _NEWSLETTER, _SVG_NAMESPACE, _GENERATOR_LINK):
        text = pattern.sub("", text)
    text = _LINK_OUT.sub(r"\1", _REMOTE_BACKGROUND.sub("none", text))
    # GX counts one folder too few above a validation page for its icon.
    text = _FAVICON.sub(f'href="{to_root}static/images/favicon.ico"', text)
    # The stand-in script goes first in the head: the pages' inline scripts call `$` as they load.
    assets = (f'<link rel="stylesheet" href="{to_root}static/styles/{MARKER}.css">'
              f'<script src="{to_root}static/scripts/{MARKER}.js"></script>')
    return text.replace("<head>", f"<head>\n{assets}", 1)


def make_offline(site: Path) -> None:
    """Rewrite every page of the Data Docs site under `site` (pages rewritten by an earlier build are skipped)."""
    for folder, asset in (("styles", "offline.css"), ("scripts", "offline.js")):
        (site / "static" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STATIC / asset, site / "static" / folder / f"{MARKER}{Path(asset).suffix}")
    # GX's own stylesheet sets a remote logo as a background; its vector logos name their generator's site.
    for path, pattern, replacement in ((p, _REMOTE_BACKGROUND, "none") for p in (site / "static").rglob("*.css")):
        _rewrite(path, lambda text: pattern.sub(replacement, text))
    for path in (site / "static").rglob("*.svg"):
        _rewrite(path, lambda text: _GENERATOR_LINK.sub("", text))
    for page in site.rglob("*.html"):
        to_root = os.path.relpath(site, page.parent).replace(os.sep, "/") + "/"
        _rewrite(page, lambda text: offline_page(text, "" if to_root == "./" else to_root))


def _rewrite(path: Path, change) -> None:
    text = path.read_text(encoding="utf-8")
    changed = change(text)
    if changed != text:
        path.write_text(changed, encoding="utf-8")
