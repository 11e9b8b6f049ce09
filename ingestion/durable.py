"""Files replaced whole and durably: a reader, or the next run after a crash, finds the old content or the new one.

Watermarks, journals, reports and results are state the next run trusts, so every one of them is written the same
way: to a temporary file in the same folder (a rename is atomic only within one file system), flushed and fsynced,
renamed over the target, and the folder fsynced so the rename itself survives a power cut. Append-only logs (the
delivery ledger) are not replaced and keep their own protocol.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


def temporary_beside(target: Path) -> Path:
    """A unique hidden name next to `target`: concurrent writers never share one, and globs for `*.json` skip it."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by path (a folder's fsync persists the names in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(tmp: Path, target: Path) -> None:
    """Move the fully written `tmp` over `target`: fsync it, rename, fsync the folder."""
    fsync_path(tmp)
    os.replace(tmp, target)
    fsync_path(target.parent)


def write_text_atomically(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)


def write_json_atomically(path: Path, payload: Any, *, indent: int | None = None, default: Any = None) -> None:
    """`payload` as UTF-8 JSON (Chinese as written, not escaped). It is serialised before any file is touched, so
    a payload that cannot be written leaves the old file as it was."""
    text = json.dumps(payload, ensure_ascii=False, indent=indent, default=default)
    write_text_atomically(path, text + "\n" if indent is not None else text)
