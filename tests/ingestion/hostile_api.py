"""A scripted reporting API on a free loopback port: real HTTP, answers a test writes by hand.

The stand-in service (`simulator/api_service.py`) only ever sends well-formed pages of a valid store; the faults a
hostile or broken server can show (HTML instead of JSON, a cursor repeated, items of another shape, a redirect to
another host, the token echoed back) need answers written one by one. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | dict | list | None = None  # a dict or list is sent as JSON
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body, ensure_ascii=False).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "application/json"
        return self.body or b"", "application/json"


Script = Callable[[Request], Answer]


@dataclass
class Server:
    base: str
    requests: list[Request]


def page(items: list, next_cursor: str | None = None) -> Answer:
    return Answer(body={"items": items, "next_cursor": next_cursor})


@contextmanager
def hostile_api(script: Script) -> Iterator[Server]:
    """Serve `script` on 127.0.0.1 in a thread until the block ends."""
    seen: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            parts = urlsplit(self.path)
            request = Request(parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}, dict(self.headers))
            seen.append(request)
            answer = script(request)
            body, media = answer.encoded()
            self.send_response(answer.status)
            headers = {"Content-Type": media, **answer.headers, "Content-Length": str(len(body))}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass  # requests are recorded in `seen`; stderr stays quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
