"""Retention keeps each endpoint to INSPECTOR_MAX_REQUESTS, newest kept."""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from inspector import retention
from inspector.models import Endpoint, db


def capture(client, token, n):
    return [client.post(f"/hooks/{token}", data=f"{i}".encode()).json["id"] for i in range(n)]


def test_prune_keeps_newest_per_endpoint(app, client):
    a = client.post("/api/endpoints", json={}).json["token"]
    b = client.post("/api/endpoints", json={}).json["token"]
    ids_a = capture(client, a, 12)
    ids_b = capture(client, b, 3)
    pruner = retention.Pruner(app, keep=5)
    with app.app_context():
        for token in (a, b):
            pruner._touched.add(db.session.scalar(sa.select(Endpoint.id)
                                                  .where(Endpoint.token == token)))
    assert pruner.run_once() == 7
    kept_a = [r["id"] for r in client.get(f"/api/endpoints/{a}/requests").json["requests"]]
    kept_b = [r["id"] for r in client.get(f"/api/endpoints/{b}/requests").json["requests"]]
    assert kept_a == sorted(ids_a[-5:], reverse=True)
    assert kept_b == sorted(ids_b, reverse=True)
    assert client.get(f"/api/requests/{ids_a[0]}").status_code == 404


def test_capture_touches_and_background_thread_prunes(app, client):
    app.extensions["inspector.pruner"] = retention.Pruner(app, keep=3)
    token = client.post("/api/endpoints", json={}).json["token"]
    ids = capture(client, token, 8)
    pruner = retention.pruner(app)
    pruner._wake.set()  # skip the one-second wait
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = client.get(f"/api/endpoints/{token}/requests").json["requests"]
        if len(left) == 3:
            break
        time.sleep(0.05)
    assert [r["id"] for r in left] == sorted(ids[-3:], reverse=True)
    pruner.stop()


def test_zero_keeps_everything(app, client):
    pruner = retention.Pruner(app, keep=0)
    pruner.touch(1)
    assert pruner._background.thread is None and pruner.run_once() == 0


def test_each_delete_batch_holds_the_capture_writers_lock(app, client, monkeypatch):
    """On SQLite captures queue on that lock, so a pruning batch makes them wait for it
    in line rather than sleep in SQLite's busy handler."""
    from inspector import writer

    token = client.post("/api/endpoints", json={}).json["token"]
    capture(client, token, 10)
    entered = []

    class Recording:
        def __enter__(self):
            entered.append("batch")

        def __exit__(self, *exc):
            return False

    store = writer.capture_store(app)
    monkeypatch.setattr(store, "writers", Recording)
    monkeypatch.setattr(retention, "DELETE_BATCH", 3)
    pruner = retention.Pruner(app, keep=2)
    with app.app_context():
        pruner._touched.add(db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token)))
    assert pruner.run_once() == 8
    assert entered == ["batch"] * 3
    assert len(client.get(f"/api/endpoints/{token}/requests").json["requests"]) == 2


def test_the_pruner_waits_for_a_capture_commit_of_its_own_process(sqlite_app):
    """The writers' lock holds back this process's threads too, not only other processes
    (flock alone would let the pruner in beside a capture leader of its process)."""
    from inspector import writer

    client = sqlite_app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    capture(client, token, 6)
    pruner = retention.Pruner(sqlite_app, keep=2)
    with sqlite_app.app_context():
        pruner._touched.add(db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token)))
    removed = []
    thread = threading.Thread(target=lambda: removed.append(pruner.run_once()))
    with writer.capture_store(sqlite_app).writers():  # a capture commit in progress
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and removed == []
    thread.join(5)
    assert removed == [4]
    pruner.stop()


def test_pruning_commits_leave_checkpoints_to_the_checkpointer(tmp_path, monkeypatch):
    """A checkpoint inside a pruning commit ran while every capture waited on the writers'
    lock: the deletes must only add to the WAL, and tell the Checkpointer instead."""
    from flask_migrate import upgrade

    from inspector import sqlite_wal
    from tests.conftest import make_app

    told = []
    monkeypatch.setattr(sqlite_wal.Checkpointer, "written",
                        lambda self, rows: told.append(rows))
    app = make_app({"DATA_DIR": str(tmp_path), "TESTING": True, "SECRET_KEY": "k"})
    with app.app_context():
        upgrade()
    client = app.test_client()
    token = client.post("/api/endpoints", json={}).json["token"]
    capture(client, token, 300)  # one commit each: the WAL is well past SQLite's 1,000 pages
    database = tmp_path / "inspector.db"
    before = database.stat().st_mtime_ns, database.stat().st_size
    pruner = retention.Pruner(app, keep=10)
    with app.app_context():
        pruner._touched.add(db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token)))
    assert pruner.run_once() == 290
    assert (database.stat().st_mtime_ns, database.stat().st_size) == before  # no checkpoint
    assert told[-1] == 290 and sum(told) == 300 + 290
    pruner.stop()
    with app.app_context():
        db.engine.dispose()  # closes the capture store too
