"""The documentation server answers from inside its mounted folders only, and the server (as `ndc docs --serve`
runs it) stops cleanly when told to."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from orchestration.settings import REPO_ROOT
from tests.support import free_port, wait_for_health
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


# The server as `ndc docs --serve` runs it, in a process of its own (the handlers are the main thread's).
SERVE = ("import sys; from pathlib import Path; from warehouse.docs_server import docs_server, serve_until_stopped; "
         "serve_until_stopped(docs_server({'reports': Path(sys.argv[1])}, int(sys.argv[2])))")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_server_stops_promptly_with_exit_0_when_signalled(tmp_path: Path, signum: signal.Signals):
    """A service manager stops the server with SIGTERM, an operator with Ctrl-C (SIGINT): either way it closes its
    port and exits 0 within 10 s, not killed by the signal. (`ndc docs --serve` itself gets SIGTERM in the docs test
    of tests/orchestration/test_operations.py.)"""
    port = free_port()
    log = tmp_path / "server.log"  # a file, not a pipe: see the docs test in tests/orchestration/test_operations.py
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path), str(port)], cwd=REPO_ROOT,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", 60, alive=lambda: server.poll() is None, path="/")
        server.send_signal(signum)
        code = server.wait(timeout=10)  # raises TimeoutExpired if it lingers
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert code == 0, log.read_text()
    with pytest.raises(ConnectionRefusedError):
        _get(port, "/")
