"""Live streams on SQLite wake on the database's writes (inotify), not on a poll."""
from __future__ import annotations

import sqlite3
import threading
import time

import sqlalchemy as sa

from inspector import file_changes, live


def test_a_write_in_the_directory_ends_the_wait_and_a_burst_is_one_wake(tmp_path):
    changes = file_changes.watch(str(tmp_path))
    assert changes is not None  # Linux: the watcher must not fall back to polling here
    try:
        assert changes.wait(0.05) is False  # nothing written

        def write_later():
            time.sleep(0.2)
            with open(tmp_path / "db-wal", "ab") as wal:
                for _ in range(50):
                    wal.write(b"frame")
                    wal.flush()

        writer = threading.Thread(target=write_later)
        began = time.monotonic()
        writer.start()
        assert changes.wait(5) is True
        assert time.monotonic() - began < 1
        writer.join()
        changes.wait(0.01)  # whatever the burst still left
        assert changes.wait(0.05) is False  # drained: one burst, not fifty wake-ups
    finally:
        changes.close()


def test_an_unwatchable_directory_means_polling(tmp_path):
    assert file_changes.watch(str(tmp_path / "missing")) is None


def test_a_commit_by_another_connection_wakes_streams_before_the_safety_recheck(sqlite_app):
    token = sqlite_app.test_client().post("/api/endpoints", json={"name": "w"}).json["token"]
    hub = live.Hub(sqlite_app)
    hub.open()  # starts the watcher
    try:
        time.sleep(0.3)  # let it take its first reading
        path = sa.make_url(sqlite_app.config["SQLALCHEMY_DATABASE_URI"]).database
        for _ in range(3):
            seen = hub.version
            other = sqlite3.connect(path, timeout=10)
            began = time.monotonic()
            with other:
                other.execute("UPDATE endpoints SET name = name || '.' WHERE token = ?", (token,))
            other.close()
            assert hub.wait(seen, 2) != seen
            assert time.monotonic() - began < live.SQLITE_RECHECK_SECONDS * 0.6
    finally:
        hub.close()
