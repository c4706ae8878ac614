"""Streams end with their endpoint and their login, and tell open pages of a clear."""
from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from inspector import live

from .test_live import capture, make_endpoint

QUICK = {"INSPECTOR_STREAM_KEEPALIVE": "1"}  # a line at least every second: reads can time out


class SseLines:
    """An open text/event-stream read event by event, with a deadline on each wait."""

    def __init__(self, response: httpx.Response):
        self.lines = response.iter_lines()
        self.closed = False

    def next_event(self, timeout: float = 10) -> dict | None:
        """The next event with data ({"event", "data", "id"}), or None when the stream
        closed; fails when nothing comes within `timeout` (keep-alives do not count)."""
        deadline = time.monotonic() + timeout
        fields: dict = {}
        for line in self.lines:
            if line == "":
                if "data" in fields:
                    return fields
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
            assert time.monotonic() < deadline, "no event in time"
        self.closed = True
        return None


def open_stream(http: httpx.Client, url: str):
    return http.stream("GET", url, timeout=httpx.Timeout(5, read=5))


@pytest.mark.server
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_api_stream_ends_when_its_endpoint_is_deleted(server_factory, request, backend):
    env = request.getfixturevalue("pg_server_env") if backend == "postgresql" else {}
    server = server_factory(workers=2, extra_env={**QUICK, **env})
    token = make_endpoint(server)
    url = f"{server.url}/api/endpoints/{token}/events"
    with httpx.Client() as http, open_stream(http, url) as response:
        events = SseLines(response)
        [first] = capture(server, token)
        assert int(events.next_event()["id"]) == first
        assert httpx.delete(f"{server.url}/api/endpoints/{token}").status_code == 204
        assert events.next_event() is None  # closed, with no event the contract lacks
    assert httpx.get(url).status_code == 404  # so a reconnect stops there


@pytest.mark.server
def test_dashboard_stream_says_deleted_then_closes(server_factory):
    server = server_factory(workers=2, extra_env=QUICK)
    token = make_endpoint(server)
    with httpx.Client() as http, open_stream(http, f"{server.url}/endpoints/{token}/stream") as response:
        events = SseLines(response)
        assert httpx.delete(f"{server.url}/api/endpoints/{token}").status_code == 204
        assert events.next_event() == {"event": "ended", "data": "deleted"}
        assert events.next_event() is None


@pytest.mark.server
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_dashboard_stream_tells_of_a_clear_and_goes_on(server_factory, request, backend):
    env = request.getfixturevalue("pg_server_env") if backend == "postgresql" else {}
    server = server_factory(workers=2, extra_env={**QUICK, **env})
    token = make_endpoint(server)
    listed = capture(server, token, 2)  # what an open page shows
    url = f"{server.url}/endpoints/{token}/stream?after={listed[-1]}"
    with httpx.Client() as http, open_stream(http, url) as response:
        events = SseLines(response)
        cleared = httpx.delete(f"{server.url}/api/endpoints/{token}/requests")
        assert cleared.json() == {"deleted": 2}
        assert events.next_event() == {"event": "cleared", "data": str(listed[-1])}
        [later] = capture(server, token)
        arrived = events.next_event()
        assert (arrived["event"], int(arrived["id"])) == ("request", later)


def test_stream_ends_when_the_login_it_opened_with_runs_out(sqlite_app):
    sqlite_app.config.update(PASSWORD="s3cret", STREAM_KEEPALIVE=0.3,
                             PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = sqlite_app.test_client()
    assert client.post("/login", data={"password": "s3cret"}).status_code == 302
    token = client.post("/api/endpoints", json={}).json["token"]
    response = client.get(f"/endpoints/{token}/stream", buffered=False)
    assert response.status_code == 200
    received, deadline = "", time.monotonic() + 15
    try:
        for chunk in response.response:
            received += chunk.decode() if isinstance(chunk, bytes) else chunk
            if "event: ended" in received or time.monotonic() > deadline:
                break
    finally:
        response.close()
    assert "event: ended\ndata: login\n\n" in received


def test_a_bearer_token_stream_is_not_cut_by_the_session_check(sqlite_app):
    sqlite_app.config.update(PASSWORD="s3cret")
    with sqlite_app.test_request_context("/", headers={"Authorization": "Bearer s3cret"}):
        assert live.login_check(sqlite_app)()
