"""PostgreSQL live streams read behind the transaction horizon: a row waits while an
older transaction runs, and goes out as soon as that one commits."""
from __future__ import annotations

import queue
import threading
import time

import psycopg
import sqlalchemy as sa

from inspector import live
from inspector.models import Endpoint, db
from tests.conftest import PG_BASE, make_app


def follow_in_background(app, endpoint_id: int, start: live.Cursor):
    """Follow the endpoint's stream in a thread: (a queue of (request id, arrival
    time), an event that ends it at its next row, the thread)."""
    arrived: queue.Queue = queue.Queue()
    stop = threading.Event()

    def stream():
        for row in live.follow(app, endpoint_id, start, keepalive=30):
            if stop.is_set():
                return
            if row is not None:
                arrived.put((row.id, time.monotonic()))

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    return arrived, stop, thread


def test_a_held_back_row_goes_out_when_another_endpoints_transaction_commits(
        migrated, monkeypatch):
    # Long polls, so only a wake-up can explain a prompt delivery.
    monkeypatch.setattr(live, "HELD_BACK_POLL", 5.0)
    monkeypatch.setattr(live, "SAFETY_POLL", 5.0)
    app = make_app(migrated["postgresql"])
    app.extensions["inspector.pruner"].stop()  # no background pruning in this test
    client = app.test_client()
    watched, other = (client.post("/api/endpoints", json={}).json["token"] for _ in range(2))
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Endpoint.token, Endpoint.id)).all())
        start = live.cursor_after(ids[watched], None)
        db.session.remove()

    arrived, stop, thread = follow_in_background(app, ids[watched], start)
    schema = migrated["postgresql"]["DATABASE_URL"].split("%3D")[1]
    with psycopg.connect(PG_BASE, options=f"-csearch_path={schema}") as blocker:
        blocker.execute("SELECT pg_current_xact_id()")  # an older transaction, still running
        request_id = client.post(f"/hooks/{watched}", data=b"{}").json["id"]
        time.sleep(0.5)
        assert arrived.empty()  # committed, but behind a transaction that is not
        # It ends, as a capture for the other endpoint would: notifying only that one.
        blocker.execute("SELECT pg_notify(%s, %s)", (live.CHANNEL, str(ids[other])))
        blocker.commit()
        committed = time.monotonic()
        got, at = arrived.get(timeout=5)
    assert got == request_id
    assert at - committed < 1.0
    stop.set()
    client.post(f"/hooks/{watched}", data=b"{}")  # wakes the stream so it can end
    thread.join(5)
    with app.app_context():
        db.engine.dispose()


def test_a_row_that_settles_between_the_read_and_the_peek_goes_out_at_once(
        migrated, monkeypatch):
    # The named wake-up's read finds the row held back; the older transaction ends
    # before the peek that follows, which so finds it settled. Nothing else will wake
    # the stream (no other commit notifies), so only reading at once delivers it.
    monkeypatch.setattr(live, "HELD_BACK_POLL", 5.0)
    monkeypatch.setattr(live, "SAFETY_POLL", 5.0)
    app = make_app(migrated["postgresql"])
    app.extensions["inspector.pruner"].stop()
    client = app.test_client()
    watched = client.post("/api/endpoints", json={}).json["token"]
    with app.app_context():
        endpoint_id = db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == watched))
        start = live.cursor_after(endpoint_id, None)
        db.session.remove()

    schema = migrated["postgresql"]["DATABASE_URL"].split("%3D")[1]
    blocker = psycopg.connect(PG_BASE, options=f"-csearch_path={schema}")
    armed = threading.Event()
    committed: list[float] = []
    read_after = live.read_after

    def read_then_commit_the_older_transaction(*args, **kwargs):
        rows, cursor = read_after(*args, **kwargs)
        if armed.is_set() and not rows and not committed:
            blocker.commit()  # no notification: an xid alone notifies nobody
            committed.append(time.monotonic())
        return rows, cursor

    monkeypatch.setattr(live, "read_after", read_then_commit_the_older_transaction)
    arrived, stop, thread = follow_in_background(app, endpoint_id, start)
    try:
        time.sleep(0.3)  # the stream's first read (the replay) is done
        blocker.execute("SELECT pg_current_xact_id()")  # an older transaction, still running
        armed.set()
        request_id = client.post(f"/hooks/{watched}", data=b"{}").json["id"]
        got, at = arrived.get(timeout=8)
        assert committed, "the stream's read never found the row held back"
        assert got == request_id
        assert at - committed[0] < 1.0
    finally:
        stop.set()
        client.post(f"/hooks/{watched}", data=b"{}")  # wakes the stream so it can end
        thread.join(5)
        blocker.close()
        with app.app_context():
            db.engine.dispose()
