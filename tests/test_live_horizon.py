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

    arrived: queue.Queue = queue.Queue()
    stop = threading.Event()

    def stream():
        for row in live.follow(app, ids[watched], start, keepalive=30):
            if stop.is_set():
                return
            if row is not None:
                arrived.put((row.id, time.monotonic()))

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
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
