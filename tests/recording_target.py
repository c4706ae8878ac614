"""A stand-in for the user's app: a stdlib HTTP server that records exactly what it got."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as the target saw it."""

    method: str
    target: str  # path and query, as on the request line
    headers: list[tuple[str, str]]  # in order, names as sent
    body: bytes
    at: float  # time.monotonic() when it arrived

    def header(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive)."""
        return [v for n, v in self.headers if n.lower() == name.lower()]


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up early (capped reads, timeouts) is normal here."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class RecordingTarget:
    """Records every request; answers `status` with `body` after `delay` seconds."""

    def __init__(self, host: str = "127.0.0.1", status: int = 200,
                 body: bytes = b'{"received": true}', delay: float = 0.0,
                 headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)):
        self.status, self.body, self.delay, self.headers = status, body, delay, headers
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self.server = _QuietServer((host, 0), self._handler())
        self.host, self.port = host, self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                        daemon=True)

    def url(self, path: str = "/webhooks") -> str:
        """Absolute URL of a path on this target."""
        return f"http://{self.host}:{self.port}{path}"

    def _handler(self):
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def __getattr__(self, name):
                if name.startswith("do_"):
                    return self._record
                raise AttributeError(name)

            def _read_body(self) -> bytes:
                length = self.headers.get("Content-Length")
                if length is not None:
                    return self.rfile.read(int(length))
                if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return b""

            def _record(self):
                seen = Received(self.command, self.path, list(self.headers.items()),
                                self._read_body(), time.monotonic())
                with target._cond:
                    target.received.append(seen)
                    target._cond.notify_all()
                if target.delay:
                    time.sleep(target.delay)
                self.send_response(target.status)
                for name, value in target.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(target.body)))
                self.end_headers()
                self.wfile.write(target.body)

        return Handler

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests arrived (or fail the test)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"target got {len(self.received)} requests, "
                                         f"expected {count}")
                self._cond.wait(left)
            return list(self.received)

    def __enter__(self) -> "RecordingTarget":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
