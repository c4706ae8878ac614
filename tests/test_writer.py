"""The capture write path: group commit, the SQLite writers' lock and WAL checkpoints."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from inspector import live, writer
from inspector.capture import Arrival, record
from inspector.sqlite_wal import Checkpointer, WritersLock
from inspector.writer import EndpointChanged, GroupCommit


def test_group_commit_batches_concurrent_rows_and_answers_each_with_its_id():
    batches, gate = [], threading.Event()
    next_id = iter(range(1, 1000))

    def write(rows):
        if not batches:
            gate.wait(5)  # hold the first commit so the others pile up behind it
        batches.append(len(rows))
        return [next(next_id) for _ in rows]

    group = GroupCommit(write)
    results: dict[int, int] = {}

    def store(n):
        results[n] = group.store({"n": n})

    threads = [threading.Thread(target=store, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert sorted(results.values()) == list(range(1, 21))  # every row answered once
    assert batches[0] == 1 and len(batches) < 20  # the waiting rows shared commits


def _batch_with_one_bad_row(write_rows) -> tuple[list[int], dict[int, object]]:
    """Row 0 commits alone while rows 1-3 queue up as one batch; row 2 is bad.
    `write_rows(rows)` writes a batch. Returns the batch sizes and each row's outcome."""
    gate, sizes = threading.Event(), []

    def write(rows):
        if not sizes:
            gate.wait(5)
        sizes.append(len(rows))
        return write_rows(rows)

    group = GroupCommit(write)
    outcomes: dict[int, object] = {}

    def store(n, bad=False):
        try:
            outcomes[n] = group.store({"n": n, "bad": bad})
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[n] = exc

    first = threading.Thread(target=store, args=(0,))
    first.start()
    time.sleep(0.1)  # the first commit is held; the next three wait together
    others = [threading.Thread(target=store, args=(n, n == 2)) for n in (1, 2, 3)]
    for thread in others:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in [first, *others]:
        thread.join(5)
    return sizes, outcomes


def test_group_commit_fails_only_the_row_that_cannot_be_written():
    def write(rows):
        if any(row["bad"] for row in rows):
            raise ValueError("bad row")
        return [row["n"] for row in rows]

    sizes, outcomes = _batch_with_one_bad_row(write)
    assert sizes[:2] == [1, 3]  # the batch of three failed as a whole, then row by row
    assert outcomes[0] == 0 and outcomes[1] == 1 and outcomes[3] == 3
    assert isinstance(outcomes[2], ValueError)


def test_group_commit_fails_only_the_row_whose_endpoint_changed():
    sizes, outcomes = _batch_with_one_bad_row(
        lambda rows: [None if row["bad"] else row["n"] for row in rows])  # None: not inserted
    assert sizes == [1, 3]  # one commit for the three: the others are not written again
    assert outcomes[0] == 0 and outcomes[1] == 1 and outcomes[3] == 3
    assert isinstance(outcomes[2], EndpointChanged)


@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_postgres_writes_batches_and_single_rows_and_notifies_for_stored_rows(app, client):
    """A batch is one transaction (its rows see each other for duplicate_of); a single
    row is one autocommit statement. Either way only stored rows notify listeners,
    and the writer connection is left outside any transaction."""
    import psycopg

    tokens = [client.post("/api/endpoints", json={}).json["token"] for _ in range(3)]
    store = writer.capture_store(app)
    first, second, third = (store.settings.get(token) for token in tokens)

    def row(settings, event_id: str, **changed) -> dict:
        body = json.dumps({"id": event_id, "type": "message.created"}).encode()
        arrival = Arrival("POST", "/", "", [("content-type", "application/json")], body,
                          "application/json", "127.0.0.1")
        return {**record(arrival, settings.endpoint), **settings.still_current(), **changed}

    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"LISTEN {live.CHANNEL}")
        # The middle row's endpoint "changed" after its settings were read.
        batch = store._write_postgres([row(first, "evt_1"), row(second, "evt_2", seen_status=299),
                                       row(first, "evt_1")])
        single = store._write_postgres([row(third, "evt_3")])
        lost = store._write_postgres([row(second, "evt_4", seen_status=299)])
        notified = [note.payload for note in conn.notifies(timeout=1, stop_after=3)]
    assert batch[1] is None and lost == [None]
    assert batch[0] < batch[2] < single[0]
    assert sorted(notified) == sorted(str(s.endpoint.id) for s in (first, third))
    listed = client.get(f"/api/endpoints/{tokens[0]}/requests").json["requests"]
    assert [(r["id"], r["duplicate_of"]) for r in listed] == [(batch[2], batch[0]), (batch[0], None)]
    assert client.get(f"/api/endpoints/{tokens[1]}/requests").json["requests"] == []
    with app.app_context():  # live.py orders streams by the txid a batch's rows share
        txids = dict(writer.db.session.execute(sa.text(
            "SELECT id, txid::text FROM captured_requests")).all())
    assert txids[batch[0]] == txids[batch[2]] != txids[single[0]]
    # A row the database refuses aborts its batch's pipeline; nothing of the batch is
    # kept, and the connection is fit for the next batch (GroupCommit retries row by row).
    with pytest.raises(psycopg.DataError):
        store._write_postgres([row(first, "evt_5"), row(first, "evt_6", size="many")])
    again = store._write_postgres([row(first, "evt_5"), row(first, "evt_6")])
    assert None not in again and again[0] > single[0]
    listed = client.get(f"/api/endpoints/{tokens[0]}/requests").json["requests"]
    assert [r["id"] for r in listed] == [again[1], again[0], batch[2], batch[0]]
    assert store._writer.dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def _excludes(first: WritersLock, second: WritersLock) -> list[str]:
    """What happens when a thread takes `second` while this one holds `first`."""
    order = []

    def other():
        with second:
            order.append("second")

    with first:
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.2)
        order.append("first released")
    thread.join(5)
    return order


def test_writers_lock_excludes_threads_sharing_it(tmp_path):
    """flock alone would let two threads sharing one descriptor both in."""
    shared = WritersLock(str(tmp_path / "inspector.db"))
    assert _excludes(shared, shared) == ["first released", "second"]
    shared.close()


def test_writers_lock_excludes_other_holders_of_the_file(tmp_path):
    """Another process's lock is another descriptor of the same file."""
    database = str(tmp_path / "inspector.db")
    mine, theirs = WritersLock(database), WritersLock(database)
    assert _excludes(mine, theirs) == ["first released", "second"]
    mine.close()
    theirs.close()


def _wal_store(tmp_path):
    """A WAL-mode SQLite file with a table, and an engine for the checkpointer."""
    database = tmp_path / "inspector.db"
    conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)")
    return conn, sa.create_engine(f"sqlite:///{database}")


def _wal_bytes_under_steady_load(tmp_path, commits: int = 3000) -> int:
    """Largest WAL file seen while a writer commits rows one by one (queuing on the
    writers' lock, as capture does), readers come and go, and the checkpointer runs
    back to back."""
    conn, engine = _wal_store(tmp_path)
    database = str(tmp_path / "inspector.db")
    writers = WritersLock(database)
    checkpointer = Checkpointer(engine, writers)
    done = threading.Event()

    def write():
        for _ in range(commits):
            with writers:
                conn.execute("INSERT INTO rows (body) VALUES (randomblob(6000))")
        done.set()

    def read():
        reader = sqlite3.connect(database, isolation_level=None)
        while not done.is_set():
            reader.execute("SELECT max(id) FROM rows").fetchone()
        reader.close()

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    largest = 0
    while not done.is_set():
        checkpointer.checkpoint()
        largest = max(largest, checkpointer._wal_size())
        time.sleep(0.005)
    for thread in threads:
        thread.join(10)
    assert conn.execute("SELECT count(*) FROM rows").fetchone()[0] == commits
    checkpointer.close()
    writers.close()
    engine.dispose()
    conn.close()
    return largest


def test_checkpointer_keeps_the_wal_short_under_steady_writes(tmp_path, monkeypatch):
    """Without the restart SQLite never starts a busy WAL over and the file only grows."""
    monkeypatch.setattr(Checkpointer, "RESTART_BYTES", 10 ** 12)  # PASSIVE only
    (tmp_path / "passive").mkdir()
    grown = _wal_bytes_under_steady_load(tmp_path / "passive")
    monkeypatch.setattr(Checkpointer, "RESTART_BYTES", 1024 * 1024)
    (tmp_path / "restart").mkdir()
    kept = _wal_bytes_under_steady_load(tmp_path / "restart")
    assert grown > 16 * 1024 * 1024
    assert kept < 8 * 1024 * 1024


def test_checkpointer_truncates_a_wal_that_grew_huge(tmp_path, monkeypatch):
    conn, engine = _wal_store(tmp_path)
    wal = tmp_path / "inspector.db-wal"
    checkpointer = Checkpointer(engine, WritersLock(str(tmp_path / "inspector.db")))
    for _ in range(100):
        conn.execute("INSERT INTO rows (body) VALUES (randomblob(6000))")
    monkeypatch.setattr(Checkpointer, "RESTART_BYTES", 64 * 1024)
    monkeypatch.setattr(Checkpointer, "TRUNCATE_BYTES", 128 * 1024)
    assert wal.stat().st_size > Checkpointer.TRUNCATE_BYTES
    checkpointer.checkpoint()
    assert wal.stat().st_size == 0
    assert conn.execute("SELECT count(*) FROM rows").fetchone()[0] == 100
    checkpointer.close()
    engine.dispose()
    conn.close()


def test_checkpointer_thread_runs_after_rows_and_stops_when_closed(tmp_path, monkeypatch):
    conn, engine = _wal_store(tmp_path)
    monkeypatch.setattr(Checkpointer, "ROWS", 10)
    checkpointer = Checkpointer(engine, None)
    ran = threading.Event()
    monkeypatch.setattr(checkpointer, "checkpoint", ran.set)
    checkpointer.written(3)
    assert not ran.wait(0.2)  # under ROWS and captures still coming: not yet
    checkpointer.written(7)
    assert ran.wait(2)
    checkpointer.close()
    checkpointer._background.thread.join(2)
    assert not checkpointer._background.alive()
    engine.dispose()
    conn.close()
