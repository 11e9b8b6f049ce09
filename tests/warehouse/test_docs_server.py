"""The documentation server answers from inside its mounted folders only."""

from __future__ import annotations

import http.client
import threading
from pathlib import Path

import pytest

from warehouse.docs_server import docs_server


@pytest.fixture
def served(tmp_path: Path):
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "index.html").write_text("<html>data docs</html>")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "evaluation.html").write_text("<html>report</html>")
    (tmp_path / "secret.txt").write_text("not served")
    (tmp_path / "reports" / "link").symlink_to(tmp_path / "secret.txt")
    server = docs_server({"quality": tmp_path / "quality", "reports": tmp_path / "reports"}, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalisation of `..`
    response = connection.getresponse()
    try:
        return response.status, response.read()
    finally:
        connection.close()


def test_each_folder_is_served_under_its_prefix(served: int):
    assert _get(served, "/quality/index.html") == (200, b"<html>data docs</html>")
    assert _get(served, "/quality/") == (200, b"<html>data docs</html>")  # a folder's index.html
    assert _get(served, "/reports/evaluation.html")[0] == 200
    status, body = _get(served, "/")
    assert status == 200 and b'href="quality/"' in body and b'href="reports/"' in body


@pytest.mark.parametrize("path", ["/quality/../secret.txt", "/quality/%2e%2e/secret.txt", "/reports/..%2fsecret.txt",
                                  "/../secret.txt", "/secret.txt", "/reports/link", "/quality/missing.html"])
def test_nothing_outside_the_served_folders_is_answered(served: int, path: str):
    status, body = _get(served, path)
    assert status in (403, 404) and b"not served" not in body
