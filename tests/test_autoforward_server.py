"""Auto-forward in real servers: several workers and processes on one store, exactly once, in
arrival order, and capture never waits for (or loses anything to) a slow or dead target."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import free_port
from tests.test_autoforward_retry import AppOnPort
from tests.recording_target import RecordingTarget

pytestmark = pytest.mark.server


def auto_forwarding_endpoint(server, url: str) -> str:
    response = httpx.post(server.url + "/api/endpoints",
                          json={"forward_url": url, "auto_forward": True})
    assert response.status_code == 201
    return response.json()["token"]


def capture(server, token: str, n: int) -> tuple[int, float]:
    """Send one event; its id and how long the sender waited."""
    started = time.monotonic()
    response = httpx.post(f"{server.url}/hooks/{token}", content=json.dumps({"n": n}),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    return response.json()["id"], time.monotonic() - started


def forwarded_once_in_order(servers, target, token: str, count: int) -> list[int]:
    """Capture `count` events spread over the servers; the target must get each once, in order."""
    for server in servers:  # let every worker start its forwarder
        for _ in range(4):
            httpx.get(server.url + "/api/endpoints")
    ids = [capture(servers[n % len(servers)], token, n)[0] for n in range(count)]
    target.wait_for(count, timeout=20)
    time.sleep(1.0)  # room for a duplicate to show up
    assert [json.loads(r.body)["n"] for r in target.received] == list(range(count))
    for request_id in (ids[0], ids[count // 2], ids[-1]):
        resends = httpx.get(f"{servers[-1].url}/api/requests/{request_id}").json()["resends"]
        assert [(r["trigger"], r["status_code"]) for r in resends] == [("auto", 200)]
    return ids


def test_two_processes_of_two_workers_forward_once_in_order_and_never_block(server_factory):
    first, second = server_factory(workers=2), server_factory(workers=2)  # one SQLite file
    with RecordingTarget() as target:
        token = auto_forwarding_endpoint(first, target.url("/webhooks"))
        forwarded_once_in_order((first, second), target, token, 20)
    with RecordingTarget(delay=1.0) as slow:
        httpx.patch(f"{first.url}/api/endpoints/{token}", json={"forward_url": slow.url()})
        waits = [capture(first, token, n)[1] for n in range(20, 23)]
        assert max(waits) < 0.5, waits  # each send takes 1 s; the sender never waits for it
        slow.wait_for(3, timeout=15)
        assert [json.loads(r.body)["n"] for r in slow.received] == [20, 21, 22]
    port = free_port()  # the app is down: the first waiting request is tried until it is up
    httpx.patch(f"{first.url}/api/endpoints/{token}",
                json={"forward_url": f"http://127.0.0.1:{port}/webhooks"})
    ids, waits = zip(*(capture(second, token, n) for n in range(23, 26)))
    assert max(waits) < 0.5, waits

    def attempts(request_id: int) -> list[tuple]:
        resends = httpx.get(f"{first.url}/api/requests/{request_id}").json()["resends"]
        return [(r["status_code"], r["error"]) for r in reversed(resends)]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not attempts(ids[0]):
        time.sleep(0.1)
    failure = (None, f"connection refused at 127.0.0.1:{port} — is your app running?")
    assert [attempts(i) for i in ids] == [[failure], [], []]  # one row, the rest wait
    listed = httpx.get(f"{first.url}/api/endpoints/{token}/requests").json()["requests"]
    assert len(listed) == 26
    with AppOnPort(port) as app_up:
        app_up.wait_for(3, timeout=15)
        time.sleep(1.0)  # room for a duplicate to show up
        assert [json.loads(r.body)["n"] for r in app_up.received] == [23, 24, 25]
    assert [attempts(i) for i in ids] == [[failure, (200, None)], [(200, None)], [(200, None)]]


def test_workers_sharing_postgresql_forward_once_in_order(server_factory, pg_server_env):
    server = server_factory(workers=3, extra_env=pg_server_env)
    with RecordingTarget() as target:
        token = auto_forwarding_endpoint(server, target.url("/webhooks"))
        forwarded_once_in_order((server,), target, token, 20)
