"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that checks every
signature with its own HMAC and records what it got. Each path behaves as its name says:
`/ok`, `/fail<N>` (500 for the first N requests, then 200), `/slow<S>` (waits S seconds
before answering 200), `/hold` (keeps its first request open until released), `/redirect`,
`/500`. A query string tells webhooks with the same behaviour apart."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    id: str
    body: dict[str, Any]
    signed_ok: bool
    timestamp: int
    headers: dict[str, str]
    at: float


@dataclass
class Receiver:
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    received: list[Received] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def ids(self, path: str | None = None) -> list[str]:
        with self.lock:
            return [r.id for r in self.received if path is None or r.path == path]

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


def verify(secret: str, header: str, raw: bytes) -> tuple[bool, int]:
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
    if not match:
        return False, 0
    timestamp = int(match.group(1))
    expected = hmac.new(
        secret.encode(), match.group(1).encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, match.group(2)), timestamp


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = self.path
            secret = receiver.secrets.get(path, "")
            ok, timestamp = verify(secret, self.headers.get("Segments-Signature", ""), raw)
            body = json.loads(raw)
            with receiver.lock:
                hits = receiver.hits[path] = receiver.hits.get(path, 0) + 1
                receiver.received.append(
                    Received(path, body["id"], body, ok, timestamp, dict(self.headers), time.time())
                )
            status, kind = 200, path.partition("?")[0]  # a query tells webhooks apart
            if kind.startswith("/fail"):
                status = 500 if hits <= int(kind[5:]) else 200
            elif kind.startswith("/slow"):
                time.sleep(float(kind[5:]))
            elif kind == "/hold" and hits == 1:
                receiver.holding.set()
                receiver.release.wait(60)
            elif kind == "/redirect":
                status = 302
            elif kind == "/500":
                status = 500
            try:
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", receiver.url("/ok"))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up (a timeout, a killed worker)

    return Handler


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
