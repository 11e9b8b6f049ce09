"""State files (watermarks, journals, reports, results) are replaced whole: the old content or the new, never a
mix, and no temporary file left behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingestion import durable
from ingestion.durable import write_json_atomically, write_text_atomically

OLD = {"submitted_at": "2024-03-01T10:00:00+08:00", "filing_id": "F-1", "revision": 1}


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "_watermarks" / "enterprise.json"
    write_json_atomically(path, OLD)
    return path


def test_a_new_payload_replaces_the_old_whole(state: Path):
    write_json_atomically(state, {"filing_id": "企业-2", "revision": 2}, indent=2)
    assert json.loads(state.read_text(encoding="utf-8")) == {"filing_id": "企业-2", "revision": 2}
    assert "企业" in state.read_text(encoding="utf-8")  # written as is, not \\u-escaped
    assert os.listdir(state.parent) == [state.name]


def test_a_payload_that_cannot_be_serialised_leaves_the_old_file(state: Path):
    with pytest.raises(TypeError):
        write_json_atomically(state, {"watermark": object()})
    assert json.loads(state.read_text(encoding="utf-8")) == OLD
    assert os.listdir(state.parent) == [state.name]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(state: Path, monkeypatch, failing: str):
    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable.os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomically(state, '{"half": ')
    monkeypatch.undo()
    assert json.loads(state.read_text(encoding="utf-8")) == OLD
    assert os.listdir(state.parent) == [state.name]


def test_the_file_and_its_folder_are_fsynced(tmp_path: Path, monkeypatch):
    synced: list[bool] = []
    real = os.fsync
    monkeypatch.setattr(durable.os, "fsync", lambda fd: synced.append(Path(f"/proc/self/fd/{fd}").resolve().is_dir())
                        or real(fd))
    write_text_atomically(tmp_path / "report.html", "<p>ok</p>")
    assert synced == [False, True]  # the temporary file before the rename, then the folder after it
