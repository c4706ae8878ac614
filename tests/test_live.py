"""Live stream across workers and processes, on SQLite and PostgreSQL, with resume."""
from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import pytest

pytestmark = pytest.mark.server


class StreamReader:
    """Follows /api/endpoints/<token>/events in a thread; events land in a queue."""

    def __init__(self, base_url: str, token: str, last_event_id: int | None = None):
        self.events: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self._stop = False
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id else {}
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       args=(f"{base_url}/api/endpoints/{token}/events", headers))
        self.thread.start()
        assert self.ready.wait(10), "stream did not open"

    def _run(self, url: str, headers: dict) -> None:
        try:
            self._read(url, headers)
        except httpx.HTTPError:
            pass  # the server went away (stopped by the test): the stream just ends

    def _read(self, url: str, headers: dict) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as http:
            with http.stream("GET", url, headers=headers) as response:
                self.ready.set()
                fields: dict = {}
                for line in response.iter_lines():
                    if self._stop:
                        return
                    if line == "":
                        if "data" in fields:
                            self.events.put((int(fields["id"]), json.loads(fields["data"]),
                                             time.monotonic()))
                        fields = {}
                    elif ": " in line and not line.startswith(":"):
                        key, value = line.split(": ", 1)
                        fields[key] = value

    def take(self, count: int, timeout: float = 10) -> list:
        """The next `count` events, or fail."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            got.append(self.events.get(timeout=max(0.01, deadline - time.monotonic())))
        return got

    def close(self) -> None:
        self._stop = True


def make_endpoint(server) -> str:
    return httpx.post(server.url + "/api/endpoints", json={}).json()["token"]


def capture(server, token, n: int = 1) -> list[int]:
    return [httpx.post(f"{server.url}/hooks/{token}", content=f'{{"n":{i}}}').json()["id"]
            for i in range(n)]


def test_event_reaches_stream_from_another_process_sqlite(server_factory):
    streaming = server_factory(workers=2)
    capturing = server_factory(workers=1)  # same data dir, so the same SQLite file
    token = make_endpoint(streaming)
    reader = StreamReader(streaming.url, token)
    sent_at = time.monotonic()
    ids = capture(capturing, token, 5)
    events = reader.take(5)
    reader.close()
    assert [e[0] for e in events] == ids
    assert events[0][1]["id"] == ids[0]
    assert events[0][2] - sent_at < 2.0


def test_event_reaches_stream_from_another_server_postgres(server_factory, pg_server_env):
    streaming = server_factory(workers=2, extra_env=pg_server_env)
    capturing = server_factory(workers=2, extra_env=pg_server_env)
    token = make_endpoint(streaming)
    reader = StreamReader(streaming.url, token)
    ids = capture(capturing, token, 5)
    events = reader.take(5)
    reader.close()
    assert sorted(e[0] for e in events) == ids


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_resume_after_restart_skips_nothing_and_repeats_nothing(server_factory, request, backend):
    env = request.getfixturevalue("pg_server_env") if backend == "postgresql" else {}
    server = server_factory(workers=2, extra_env=env)
    token = make_endpoint(server)
    reader = StreamReader(server.url, token)
    first = capture(server, token, 3)
    seen = [e[0] for e in reader.take(3)]
    reader.close()
    server.stop()
    # While no stream is open, requests arrive at another server on the same store.
    other = server_factory(workers=1, extra_env=env)
    missed = capture(other, token, 4)
    resumed = StreamReader(other.url, token, last_event_id=seen[-1])
    later = capture(other, token, 2)
    got = [e[0] for e in resumed.take(6)]
    resumed.close()
    assert seen == first
    assert sorted(got) == missed + later and len(set(got)) == 6
    with pytest.raises(queue.Empty):
        resumed.events.get(timeout=0.5)  # nothing twice
