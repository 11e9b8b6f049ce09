"""One small HTTP server for the documentation a run leaves behind (Data Docs, dbt's docs, the evaluation report),
each folder mounted under its own first path segment, so the UI's links are http:// (browsers refuse file://).

Standard library only. A request is answered from inside its folder or not at all: a path that names no mounted
folder, or that resolves (through `..`, an encoded `%2e%2e` or a symbolic link) to anything outside it, is a 404.
"""

from __future__ import annotations

import html
import io
import signal
import threading
from collections.abc import Mapping
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def mounted(mounts: Mapping[str, Path], url_path: str) -> tuple[Path, str] | None:
    """(folder, the rest of the path) for a request path whose first segment is a mount, else None."""
    prefix, _, rest = urlsplit(url_path).path.lstrip("/").partition("/")
    root = mounts.get(unquote(prefix))
    return (root, "/" + rest) if root is not None else None


def inside(root: Path, target: Path) -> bool:
    return target.resolve().is_relative_to(root.resolve())


class DocsHandler(SimpleHTTPRequestHandler):
    mounts: Mapping[str, Path] = {}

    def __init__(self, *args, mounts: Mapping[str, Path], **kwargs):
        self.mounts = mounts
        super().__init__(*args, **kwargs)

    def send_head(self):
        if urlsplit(self.path).path in ("", "/"):
            return self._index()
        found = mounted(self.mounts, self.path)
        if found is None or not inside(found[0], Path(self.translate_path(self.path))):
            self.send_error(HTTPStatus.NOT_FOUND, "Not served here")
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        found = mounted(self.mounts, path)
        if found is None:  # send_head answers 404 before asking; nothing here names a file
            return ""
        root, rest = found
        # The base class drops `.` and `..` segments and joins what remains onto `directory`.
        self.directory = str(root)
        return super().translate_path(rest)

    def _index(self):
        links = "".join(f'<li><a href="{html.escape(name)}/">{html.escape(name)}/</a></li>' for name in self.mounts)
        body = f"<!doctype html><meta charset=utf-8><title>ndc docs</title><ul>{links}</ul>".encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # one line per request on stderr is noise for an operator's terminal


def docs_server(mounts: Mapping[str, Path], port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server (not yet serving: call `serve_forever`) for these folders by first path segment."""
    handler = partial(DocsHandler, mounts=dict(mounts), directory=str(next(iter(mounts.values()))))
    return ThreadingHTTPServer((host, port), handler)


def serve_until_stopped(server: ThreadingHTTPServer) -> None:
    """Serve until SIGTERM (a service manager stopping it) or SIGINT (Ctrl-C), then close the socket and return.

    Call from the main thread. The handler only asks another thread to call `shutdown`: called from the handler
    itself, `shutdown` would wait forever for the loop the handler interrupted.
    """
    def stop(signum, frame) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.server_close()
