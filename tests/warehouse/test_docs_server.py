"""The documentation server answers from inside its mounted folders only, and `ndc docs --serve` stops cleanly
when told to."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
from pathlib import Path

import duckdb
import pytest

from tests.support import NDC, free_port, wait_for_health
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


@pytest.fixture(scope="module")
def docs_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All `ndc docs` needs: an empty warehouse. Shared, so the second generation reuses dbt's partial parse."""
    home = tmp_path_factory.mktemp("ndc")
    (home / "warehouse").mkdir()
    duckdb.connect(str(home / "warehouse" / "build.duckdb")).close()
    return home


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ndc_docs_serve_stops_promptly_with_exit_0_when_signalled(docs_home: Path, tmp_path: Path,
                                                                  signum: signal.Signals):
    """A service manager stops the server with SIGTERM, an operator with Ctrl-C (SIGINT): either way it closes its
    port and exits 0 within 10 s, not killed by the signal."""
    port = free_port()
    log = tmp_path / "docs.log"  # a file, not a pipe: see the docs test in tests/orchestration/test_operations.py
    with log.open("w") as out:
        server = subprocess.Popen([str(NDC), "docs", "--serve", "--port", str(port)],
                                  env={**os.environ, "NDC_HOME": str(docs_home)}, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", 120, alive=lambda: server.poll() is None, path="/")
        server.send_signal(signum)
        code = server.wait(timeout=10)  # raises TimeoutExpired if it lingers
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert code == 0, log.read_text()
    with pytest.raises(ConnectionRefusedError):
        _get(port, "/")
