"""Auto-forward while the user's app is down: the same request is tried again, in order, until
the app answers; one failure row, then the delivery. In process on both stores (run_pending and
real drain threads), and in real servers sharing PostgreSQL."""
from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from inspector import autoforward
from inspector.models import Endpoint, ForwardCursor, Resend, db
from tests import recording_target
from tests.conftest import free_port
from tests.recording_target import RecordingTarget
from tests.test_autoforward import capture, forwarded_ns, switch_on


class AppOnPort(RecordingTarget):
    """The user's app starting on the port the forward URL names (it was down before)."""

    def __init__(self, port: int, **kwargs):
        super().__init__(**kwargs)
        self.server.server_close()
        self.server = recording_target._QuietServer((self.host, port), self._handler())
        self.port = port
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                        daemon=True)


class HangsUp:
    """An app that accepts each connection and closes it unanswered; counts the tries."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tries = 0
        self._cond = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()
            with self._cond:
                self.tries += 1
                self._cond.notify_all()

    def wait_for(self, tries: int, timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.tries >= tries, timeout), \
                f"{self.tries} tries, expected {tries}"

    def close(self) -> None:
        self.sock.close()


def attempts_by_request(app) -> dict[int, list[tuple]]:
    """Each request's auto attempts, oldest first: (status_code, error)."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Resend).order_by(Resend.id)).all()
        found: dict[int, list[tuple]] = {}
        for row in rows:
            assert row.trigger == "auto"
            found.setdefault(row.request_id, []).append((row.status_code, row.error))
        return found


def await_attempts(app, count: int, timeout: float = 10.0) -> dict[int, list[tuple]]:
    """Wait until `count` attempt rows are stored."""
    deadline = time.monotonic() + timeout
    while True:
        found = attempts_by_request(app)
        if sum(map(len, found.values())) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def refused(port: int) -> tuple:
    return (None, f"connection refused at 127.0.0.1:{port} — is your app running?")


def endpoint_id(app, token: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token))


def start_drain(app, token: str) -> threading.Thread:
    """What the coordinator does: look until the endpoint's request is settled (on PostgreSQL
    an older open transaction can hide it for a moment), then drain it in a thread."""
    fw, endpoint = autoforward.forwarder(app), endpoint_id(app, token)
    deadline = time.monotonic() + 10
    while endpoint not in fw._drainers and time.monotonic() < deadline:
        fw.step(fw._start_thread)
        time.sleep(0.02)
    return fw._drainers[endpoint]


def run_until(app, done, timeout: float = 10.0) -> None:
    """run_pending until `done()` (on PostgreSQL a capture is forwarded once it is settled)."""
    deadline = time.monotonic() + timeout
    while True:
        autoforward.run_pending(app)
        if done() or time.monotonic() > deadline:
            return
        time.sleep(0.02)


def finish(thread: threading.Thread) -> None:
    thread.join(timeout=15)
    assert not thread.is_alive(), "the drain thread did not end"


def test_a_request_captured_while_the_app_is_down_is_sent_once_it_starts(app, client,
                                                                          endpoint):
    port = free_port()
    switch_on(client, endpoint["token"], f"http://127.0.0.1:{port}/webhooks")
    first, = capture(client, endpoint["token"], 1)
    run_until(app, lambda: attempts_by_request(app))
    autoforward.run_pending(app)  # tried again: still one failure row
    assert attempts_by_request(app) == {first: [refused(port)]}
    with AppOnPort(port) as app_up:
        second, = capture(client, endpoint["token"], 1, start=1)
        run_until(app, lambda: len(app_up.received) >= 2)
        autoforward.run_pending(app)  # nothing twice
        assert forwarded_ns(app_up) == [0, 1]
    assert attempts_by_request(app) == {first: [refused(port), (200, None)],
                                        second: [(200, None)]}
    with app.app_context():
        assert db.session.scalar(sa.select(ForwardCursor.owner)) is None


def test_waiting_keeps_the_position_and_a_short_lease(app, client, endpoint):
    port, owner = free_port(), "other-host:1:abc"
    switch_on(client, endpoint["token"], f"http://127.0.0.1:{port}/webhooks")
    first, = capture(client, endpoint["token"], 1)
    policy = autoforward.forwarder(app).policy()
    with app.app_context():
        start = db.session.get(ForwardCursor, endpoint_id(app, endpoint["token"])).request_id
        deadline, outcome = time.monotonic() + 10, None
        while outcome != autoforward.RETRY and time.monotonic() < deadline:  # once settled
            assert autoforward.claim(endpoint_id(app, endpoint["token"]), owner, policy)
            outcome = autoforward.forward_next(endpoint_id(app, endpoint["token"]), owner, policy)
        assert outcome == autoforward.RETRY
        state = db.session.scalar(sa.select(ForwardCursor))
        assert (state.request_id, state.owner) == (start, owner)
        # A process that dies while waiting frees the endpoint soon, not after a full lease.
        assert state.lease_expires <= time.time() + autoforward.HOLD_SECONDS
        db.session.rollback()
    assert attempts_by_request(app) == {first: [refused(port)]}


def test_a_drain_thread_waits_for_the_app_and_never_holds_up_other_endpoints(app, client,
                                                                             endpoint):
    port = free_port()
    other = client.post("/api/endpoints", json={"name": "Other"}).json
    switch_on(client, endpoint["token"], f"http://127.0.0.1:{port}/webhooks")
    with RecordingTarget() as other_app:
        switch_on(client, other["token"], other_app.url())
        first, = capture(client, endpoint["token"], 1)
        capture(client, other["token"], 1, start=100)
        waiting = start_drain(app, endpoint["token"])
        finish(start_drain(app, other["token"]))  # went on while this one waits
        assert forwarded_ns(other_app) == [100]
        assert await_attempts(app, 2)[first] == [refused(port)]
    second, = capture(client, endpoint["token"], 1, start=1)  # queued behind the first
    assert waiting.is_alive()
    with AppOnPort(port) as app_up:
        app_up.wait_for(2)
        finish(waiting)
        autoforward.run_pending(app)  # nothing left, nothing twice
        assert forwarded_ns(app_up) == [0, 1]
    found = attempts_by_request(app)
    assert found[first] == [refused(port), (200, None)] and found[second] == [(200, None)]


def test_a_request_waiting_for_the_app_goes_to_a_changed_forward_url(app, client, endpoint):
    port = free_port()
    switch_on(client, endpoint["token"], f"http://127.0.0.1:{port}/webhooks")
    ids = capture(client, endpoint["token"], 3)
    run_until(app, lambda: attempts_by_request(app))
    autoforward.run_pending(app)
    assert attempts_by_request(app) == {ids[0]: [refused(port)]}  # the rest wait behind it
    with RecordingTarget(status=500) as later:  # any answer, 5xx too, counts as delivered
        client.patch(f"/api/endpoints/{endpoint['token']}", json={"forward_url": later.url()})
        ids += capture(client, endpoint["token"], 1, start=3)
        run_until(app, lambda: len(later.received) >= 4)
        assert forwarded_ns(later) == [0, 1, 2, 3]
    found = attempts_by_request(app)
    assert [found[i] for i in ids] == [[refused(port), (500, None)]] + [[(500, None)]] * 3


@pytest.mark.parametrize("stop", ["switch off", "delete the endpoint"])
def test_switching_off_or_deleting_the_endpoint_ends_the_wait(app, client, endpoint, stop):
    hangs_up = HangsUp()
    try:
        switch_on(client, endpoint["token"], f"http://127.0.0.1:{hangs_up.port}/webhooks")
        first, = capture(client, endpoint["token"], 1)
        waiting = start_drain(app, endpoint["token"])
        hangs_up.wait_for(3)  # a reset before any answer is tried again too
        failures = attempts_by_request(app)[first]
        assert len(failures) == 1 and failures[0][0] is None  # one row, not one per try
        assert failures[0][1].startswith(("sending to", "127.0.0.1"))  # reset or closed
        with app.app_context():  # no other process may take it over meanwhile
            assert db.session.scalar(sa.select(ForwardCursor.owner)) == \
                autoforward.forwarder(app).owner
        if stop == "switch off":
            response = client.patch(f"/api/endpoints/{endpoint['token']}",
                                    json={"auto_forward": False})
        else:
            response = client.delete(f"/api/endpoints/{endpoint['token']}")
        assert response.status_code in (200, 204)
        finish(waiting)
    finally:
        hangs_up.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ForwardCursor)) == 0


@pytest.mark.server
def test_workers_sharing_postgresql_wait_for_the_app(server_factory, pg_server_env):
    server = server_factory(workers=3, extra_env=pg_server_env)
    port = free_port()
    token = httpx.post(server.url + "/api/endpoints",
                       json={"forward_url": f"http://127.0.0.1:{port}/webhooks",
                             "auto_forward": True}).json()["token"]
    for _ in range(6):  # let every worker start its forwarder
        httpx.get(server.url + "/api/endpoints")
    ids = [httpx.post(f"{server.url}/hooks/{token}", json={"n": n}).json()["id"]
           for n in range(3)]

    def resends(request_id: int) -> list[tuple]:
        return [(r["trigger"], r["status_code"], r["error"]) for r in
                httpx.get(f"{server.url}/api/requests/{request_id}").json()["resends"]]

    deadline = time.monotonic() + 10
    while not resends(ids[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    failure = ("auto", *refused(port))
    assert resends(ids[0]) == [failure]
    with AppOnPort(port) as app_up:
        app_up.wait_for(3, timeout=20)
        time.sleep(1.0)  # room for a duplicate to show up
        assert [json.loads(r.body)["n"] for r in app_up.received] == [0, 1, 2]
    assert [resends(i) for i in ids] == [[("auto", 200, None), failure],  # newest first
                                         [("auto", 200, None)], [("auto", 200, None)]]
