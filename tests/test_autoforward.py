"""Auto-forward logic on both stores, run synchronously (run_pending); the real threads and
several workers and processes are in test_autoforward_server.py."""
from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from inspector import autoforward
from inspector.models import Endpoint, ForwardCursor, Resend, db
from tests.recording_target import RecordingTarget


@pytest.fixture
def target():
    with RecordingTarget() as running:
        yield running


def capture(client, token: str, n: int, start: int = 0, path: str = "") -> list[int]:
    ids = []
    for i in range(start, start + n):
        response = client.post(f"/hooks/{token}{path}?n={i}", data=json.dumps({"n": i}),
                               content_type="application/json")
        assert response.status_code == 200
        ids.append(response.json["id"])
    return ids


def switch_on(client, token: str, url: str) -> None:
    response = client.patch(f"/api/endpoints/{token}", json={"forward_url": url,
                                                            "auto_forward": True})
    assert response.status_code == 200 and response.json["auto_forward"] is True


def forwarded_ns(target) -> list[int]:
    return [json.loads(r.body)["n"] for r in target.received]


def test_new_requests_are_forwarded_in_order_once(app, client, endpoint, target):
    capture(client, endpoint["token"], 2)  # before switching on: not forwarded
    switch_on(client, endpoint["token"], target.url("/in"))
    ids = capture(client, endpoint["token"], 5, start=2, path="/sub")
    autoforward.run_pending(app)
    autoforward.run_pending(app)  # nothing twice
    assert forwarded_ns(target) == [2, 3, 4, 5, 6]
    assert [r.target for r in target.received][0] == "/in/sub?n=2"
    assert all(r.header("X-Inspector-Forwarded") == ["1"] for r in target.received)
    with app.app_context():
        attempts = db.session.scalars(sa.select(Resend).order_by(Resend.id)).all()
        assert [(a.request_id, a.trigger, a.status_code) for a in attempts] == \
            [(i, "auto", 200) for i in ids]


def test_switching_off_and_on_starts_from_the_newest(app, client, endpoint, target):
    switch_on(client, endpoint["token"], target.url())
    capture(client, endpoint["token"], 1, start=0)
    autoforward.run_pending(app)
    client.patch(f"/api/endpoints/{endpoint['token']}", json={"auto_forward": False})
    capture(client, endpoint["token"], 2, start=1)  # while off
    autoforward.run_pending(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ForwardCursor)) == 0
    client.patch(f"/api/endpoints/{endpoint['token']}", json={"auto_forward": True})
    capture(client, endpoint["token"], 1, start=3)
    autoforward.run_pending(app)
    assert forwarded_ns(target) == [0, 3]


def test_a_request_deleted_after_its_read_is_passed_over(app, client, endpoint, target,
                                                         monkeypatch):
    """The read lists the next request; if it is deleted before its body is loaded
    (a clear, retention), forwarding moves past it instead of failing on it."""
    from inspector import live
    from inspector.models import CapturedRequest

    switch_on(client, endpoint["token"], target.url())
    doomed, kept = capture(client, endpoint["token"], 2)
    read_after, reads_of_doomed = live.read_after, []

    def read_then_delete(*args, **kwargs):
        rows, cursor = read_after(*args, **kwargs)
        if rows and rows[0].id == doomed:
            reads_of_doomed.append(cursor)
            if len(reads_of_doomed) == 2:  # the first read only saw that work waits
                db.session.execute(sa.delete(CapturedRequest).where(CapturedRequest.id == doomed))
                db.session.commit()
        return rows, cursor

    monkeypatch.setattr(live, "read_after", read_then_delete)
    autoforward.run_pending(app)
    assert len(reads_of_doomed) == 2
    assert forwarded_ns(target) == [1]
    with app.app_context():
        assert [a.request_id for a in db.session.scalars(sa.select(Resend))] == [kept]


def test_a_held_lease_keeps_other_processes_out_until_it_expires(app, client, endpoint, target):
    switch_on(client, endpoint["token"], target.url())
    capture(client, endpoint["token"], 2)
    with app.app_context():
        db.session.execute(sa.update(ForwardCursor).values(owner="other-host:1:abc",
                                                           lease_expires=time.time() + 60))
        db.session.commit()
    autoforward.run_pending(app)
    assert target.received == []
    with app.app_context():
        db.session.execute(sa.update(ForwardCursor).values(lease_expires=time.time() - 1))
        db.session.commit()
    autoforward.run_pending(app)
    assert forwarded_ns(target) == [0, 1]
    with app.app_context():
        state = db.session.scalar(sa.select(ForwardCursor))
        assert state.owner is None  # given back once drained


def test_forwarding_into_our_own_capture_url_is_refused(app, client, endpoint):
    # Saving such a URL is refused now (test_api); a store saved before that may hold one.
    switch_on(client, endpoint["token"], "http://127.0.0.1:9/placeholder")
    with app.app_context():
        db.session.execute(sa.update(Endpoint).where(Endpoint.token == endpoint["token"])
                           .values(forward_url=endpoint["capture_url"] + "/again"))
        db.session.commit()
    ids = capture(client, endpoint["token"], 1)
    autoforward.run_pending(app)
    with app.app_context():
        attempt = db.session.scalar(sa.select(Resend))
        assert attempt.request_id == ids[0] and "own capture URL" in attempt.error
        count = db.session.execute(sa.text("SELECT count(*) FROM captured_requests")).scalar()
        assert count == 1


def test_a_non_loopback_forward_url_is_recorded_as_refused(app, client, endpoint):
    switch_on(client, endpoint["token"], "http://10.0.0.1/hook")
    capture(client, endpoint["token"], 1)
    autoforward.run_pending(app)
    with app.app_context():
        assert "only this machine" in db.session.scalar(sa.select(Resend.error))

