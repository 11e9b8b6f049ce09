"""Delivered text as it may appear in a message: file names and cell excerpts, printable and on one line.

A file name or a cell is written by a province, so it can hold a line break (a forged log line), an ANSI escape
sequence (a terminal that changes colour or title), or bytes that are no UTF-8 at all. Every message, log line and
ledger entry the file channel writes shows such text through `printable`, and file content only as a short
`excerpt` of the offending cell, so no delivery can speak in the pipeline's own voice or leak a file it points to.
"""

from __future__ import annotations

import unicodedata

# Cells are quoted in messages up to this many characters: enough to recognise the value, never a file's content.
EXCERPT_CHARS = 40


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte that was no UTF-8, kept by the file system's surrogateescape
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def needs_escaping(char: str) -> bool:
    """Control (C0, DEL, C1), format (bidirectional overrides), surrogate and line/paragraph separator characters."""
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def printable(text: str) -> str:
    """`text` with every character that could change how a line reads escaped (`\\n`, `\\x1b`, `\\xb2` for a byte that
    was no UTF-8), and the backslash doubled, so that two different names never print the same."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join("\\\\" if c == "\\" else _escape(c) if needs_escaping(c) else c for c in text)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a delivered value, escaped, marked `…` when cut."""
    return printable(text[:limit]) + ("…" if len(text) > limit else "")


__all__ = ["EXCERPT_CHARS", "excerpt", "needs_escaping", "printable"]
