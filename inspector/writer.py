"""The capture path's database work: driver-level statements and group commit.

Capture is the hot path, so it skips the ORM: one INSERT per request, on
connections kept for the purpose, and a SELECT of the endpoint's settings only
when this process has not read them yet (capture_settings.py).

A request is acknowledged only after its row is committed, but requests that
arrive while a commit is running need not wait for one commit each. The first
capture thread that finds no write in progress becomes the leader: it takes
every row waiting, writes them in one transaction (one writer-lock hold on
SQLite, one WAL flush on PostgreSQL), commits, and then every thread of that
batch answers its sender. Threads that arrived meanwhile form the next batch.

Ordering stays what live.py relies on: on SQLite the batch holds the writer
lock from its first id to its commit; on PostgreSQL the rows share the txid of
their transaction, and streams read in (txid, id) order behind the horizon.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any, Callable, ContextManager, Iterator, Optional

import sqlalchemy as sa
from flask import Flask

from . import live, request_counts
from .capture_settings import SettingsCache
from .models import db
from .pg_statistics import StatisticsCheck
from .sqlite_wal import Checkpointer, WritersLock

COLUMNS = ("endpoint_id", "received_at", "method", "path", "query", "headers", "body",
           "content_type", "size", "body_sha256", "remote_addr", "rejected", "event_id",
           "event_type", "event_known", "resource_type", "resource_id", "signature_status",
           "signature")
# duplicate_of is computed in the statement: the earliest row of the endpoint with the
# same event id, seeing rows of earlier requests in the same batch too.
_DUPLICATE_OF = ("(SELECT min(id) FROM captured_requests WHERE endpoint_id = {p}endpoint_id{s}"
                 " AND event_id = {p}duplicate_key{s})")
# A row is only stored while its endpoint still has the settings capture verified it
# with (capture_settings.py); otherwise nothing is inserted and capture retries.
_SETTINGS_CURRENT = ("EXISTS (SELECT 1 FROM endpoints WHERE id = {p}endpoint_id{s}"
                     " AND token = {p}seen_token{s} AND {secrets} = {p}seen_secrets{s}"
                     " AND signature_header = {p}seen_header{s}"
                     " AND response_status = {p}seen_status{s})")
SEEN_PARAMS = ("seen_token", "seen_secrets", "seen_header", "seen_status")


def _sql(template: str, prefix: str, suffix: str, secrets: str = "secrets") -> str:
    """A statement in one driver's named-parameter style."""
    return template.format(
        columns=", ".join(COLUMNS), values=", ".join(f"{prefix}{c}{suffix}" for c in COLUMNS),
        duplicate_of=_DUPLICATE_OF.format(p=prefix, s=suffix),
        current=_SETTINGS_CURRENT.format(p=prefix, s=suffix, secrets=secrets))


# SQLite reads the settings of the batch's endpoints in a statement of their own: an
# INSERT whose SELECT reads the table it fills (duplicate_of) copies the row into a
# temporary table first, which doubled the memory a 25 MiB body takes. Under BEGIN
# IMMEDIATE nobody can change an endpoint between that read and the INSERTs.
SQLITE_INSERT = _sql("INSERT INTO captured_requests ({columns}, duplicate_of)"
                     " VALUES ({values}, {duplicate_of})", ":", "")
# A big body is inserted as zeros and then written into its row in place (blob I/O).
# Bound as a parameter, SQLite copied it to bind it and again to build the row: 52 MiB
# beside a 25 MiB body. In place it takes 2 MiB, as body is the last column (migration
# 4f6d8b2e0a17). Smaller bodies are bound: their copies cost less than a blob handle.
SQLITE_INSERT_ZEROED = SQLITE_INSERT.replace(":body,", "zeroblob(:body_length),", 1)
STREAMED_BODY_BYTES = 256 * 1024
SQLITE_SETTINGS = ("SELECT id, token, secrets, signature_header, response_status"
                   " FROM endpoints WHERE id IN ({marks})")
# Each row's statement inserts it and notifies listeners of its endpoint only if it
# was stored; PostgreSQL delivers the notifications at commit, one per endpoint and
# transaction however many rows name it.
POSTGRES_STORE = _sql("WITH stored AS (INSERT INTO captured_requests ({columns}, duplicate_of)"
                      " SELECT {values}, {duplicate_of} WHERE {current} RETURNING id, endpoint_id)"
                      f" SELECT id, pg_notify('{live.CHANNEL}', endpoint_id::text) FROM stored",
                      "%(", ")s", secrets="secrets::text")
SQLITE_ENDPOINT = ("SELECT id, secrets, signature_header, response_status FROM endpoints"
                   " WHERE token = ?")
POSTGRES_ENDPOINT = ("SELECT id, secrets::text, signature_header, response_status"
                     " FROM endpoints WHERE token = %s")


def _sqlite_settings(cursor, endpoint_ids: set[int]) -> dict[int, tuple]:
    """The settings of these endpoints as stored now, in the order of SEEN_PARAMS:
    one query for the batch, not one per endpoint, as it runs inside the writers'
    lock that every process's captures queue on."""
    ids = sorted(endpoint_ids)
    rows = cursor.execute(SQLITE_SETTINGS.format(marks=", ".join("?" * len(ids))), ids)
    return {row[0]: tuple(row[1:]) for row in rows.fetchall()}


def _params(values: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    """Statement parameters of one row, encoded as the ORM column types would."""
    received = values.get("received_at") or datetime.now(timezone.utc)
    params = dict(values)
    params["headers"] = json.dumps(values["headers"])
    params["signature"] = json.dumps(values["signature"])
    params["duplicate_key"] = values["event_id"] or None
    if sqlite:
        # What SQLAlchemy's SQLite DateTime stores: naive UTC, always with microseconds.
        params["received_at"] = (received.astimezone(timezone.utc).replace(tzinfo=None)
                                 .isoformat(" ", "microseconds"))
        params["event_known"] = 1 if values["event_known"] else 0
    else:
        params["received_at"] = received
    return params


class EndpointChanged(Exception):
    """The row was not stored: its endpoint's settings changed, or the endpoint was
    deleted, after capture read them. Capture reads them again and retries."""


class _Pending:
    """One row waiting for a commit, and what became of it."""

    __slots__ = ("values", "id", "error", "done", "wake")

    def __init__(self, values: dict):
        self.values = values
        self.id: Optional[int] = None
        self.error: Optional[BaseException] = None
        self.done = False
        self.wake = threading.Lock()
        self.wake.acquire()  # released when its batch is committed, or when it is to lead


class GroupCommit:
    """Leader/follower group commit of rows through one `write(rows) -> ids` function;
    an id of None means the row's endpoint changed (EndpointChanged)."""

    def __init__(self, write: Callable[[list[dict]], list[int]]):
        self._write = write
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._writing = False

    def store(self, values: dict) -> int:
        """Store one row; returns its id once it is committed (or raises)."""
        item = _Pending(values)
        with self._lock:
            self._pending.append(item)
            lead = not self._writing
            self._writing = True
        if not lead:
            item.wake.acquire()  # woken once: committed, or handed the lead
        if not item.done:
            self._lead(item)
        if item.error is not None:
            raise item.error
        return item.id

    def _lead(self, leader: _Pending) -> None:
        """Commit everything waiting, wake its threads, hand the lead to a newcomer."""
        with self._lock:
            batch, self._pending = self._pending, []
        try:
            self._commit(batch)
        finally:
            for item in batch:
                if item.id is None and item.error is None:
                    item.error = RuntimeError("the request was not stored")
                item.done = True
            with self._lock:
                successor = self._pending[0] if self._pending else None
                self._writing = successor is not None
            # Only the threads of this batch and the next leader wake: no herd.
            for item in batch:
                if item is not leader:
                    item.wake.release()
            if successor is not None:
                successor.wake.release()

    def _commit(self, batch: list[_Pending]) -> None:
        """Write the batch in one transaction; if that fails, each row on its own,
        so one bad row fails only its own request."""
        try:
            ids = self._write([item.values for item in batch])
            for item, request_id in zip(batch, ids):
                if request_id is None:
                    item.error = EndpointChanged()
                item.id = request_id
        except Exception as exc:  # noqa: BLE001 - handed to the request it belongs to
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for item in batch:
                    self._commit([item])


class CaptureStore:
    """One process's capture connections for one engine: a writer, and readers."""

    READERS = 8

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.pid = os.getpid()
        self._writer = None  # a DBAPI connection, made on first use, replaced after errors
        on_disk = self.sqlite and engine.url.database not in (None, "", ":memory:")
        self._writers = WritersLock(engine.url.database) if on_disk else None
        self._idle: list = []  # read connections not in use, newest last
        self._closed = False
        self._readers_free = threading.BoundedSemaphore(self.READERS)
        self._lock = threading.Lock()
        self.group = GroupCommit(self._write_sqlite if self.sqlite else self._write_postgres)
        self.checkpointer = Checkpointer(engine, self._writers) if self.sqlite else None
        self.statistics = None if self.sqlite else StatisticsCheck(engine)
        self.count_folder = None if self.sqlite else request_counts.Folder(engine)
        self.settings = SettingsCache(self.endpoint)

    # -- finding the endpoint ------------------------------------------------

    def endpoint(self, token: str) -> Optional[tuple]:
        """(id, secrets JSON text, signature header, response status) of the token, or None."""
        return self.query_one(SQLITE_ENDPOINT, POSTGRES_ENDPOINT, (token,))

    def query_one(self, sqlite_sql: str, postgres_sql: str, params: tuple) -> Optional[tuple]:
        """First row of a small read on this process's capture read connections."""
        sql = sqlite_sql if self.sqlite else postgres_sql
        try:
            return self._read(sql, params)
        except Exception:  # noqa: BLE001 - a connection lost to a server restart: once more
            if self.sqlite:
                raise
            return self._read(sql, params)

    def _read(self, sql: str, params: tuple) -> Optional[tuple]:
        """A read on an idle autocommit connection of our own: no pool checkout, ping or
        reset. At most READERS per process, kept open and reused newest first."""
        with self._readers_free:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._new_reader()
            try:
                row = conn.execute(sql, params).fetchone()
            except BaseException:
                conn.close()
                raise
            with self._lock:
                if not self._closed:
                    self._idle.append(conn)
                    return row
            conn.close()  # the store was closed while this read ran: keep nothing open
            return row

    def _new_reader(self):
        """A driver connection in autocommit mode (SQLite: a plain file connection)."""
        if self.sqlite:
            return sqlite3.connect(self.engine.url.database, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        fairy = self.engine.raw_connection()
        fairy.detach()  # ours, not the pool's
        fairy.rollback()  # the pool's ping may have opened a transaction
        conn = fairy.dbapi_connection
        conn.autocommit = True
        return conn

    # -- writing -------------------------------------------------------------

    def writers(self) -> ContextManager:
        """Hold back capture writers of every process (SQLite); a no-op on PostgreSQL."""
        return self._writers or contextlib.nullcontext()

    def _connection(self):
        """The writer connection, through the engine so its connect hooks apply."""
        if self._writer is None:
            conn = self.engine.raw_connection()
            conn.detach()  # ours for good, not the pool's
            self._writer = conn
            if self.sqlite:
                # Checkpoints (two fsyncs each under synchronous=NORMAL) would run
                # inside the commit of whichever batch crossed the threshold and stall
                # every request waiting on it; the Checkpointer runs them instead.
                conn.execute("PRAGMA wal_autocheckpoint=0")
            else:
                conn.rollback()  # the pool's ping may have opened a transaction
                conn.dbapi_connection.autocommit = True  # batches say BEGIN themselves
        return self._writer

    def _discard(self) -> None:
        """Drop the writer connection after an error; the next batch opens another."""
        conn, self._writer = self._writer, None
        if conn is not None:
            try:
                conn.close()  # detached: this closes the driver connection
            except Exception:  # noqa: BLE001 - it is being thrown away anyway
                pass

    def _write_sqlite(self, rows: list[dict]) -> list[int]:
        """One IMMEDIATE transaction: the writer lock is taken up front, never upgraded.

        Capture writers of all processes first queue on an flock: SQLite's own busy
        handler retries after sleeps of up to 100 ms, so a process that keeps missing
        the lock can wait for seconds while the other writes; a waiter on an flock is
        woken the moment it is free.
        """
        params = [_params(values, sqlite=True) for values in rows]
        # The connection is taken under the lock: retention uses it too.
        with self.writers(), self._transaction() as (conn, cursor):
            cursor.execute("BEGIN IMMEDIATE")
            now = _sqlite_settings(cursor, {row["endpoint_id"] for row in params})
            ids = []
            for row in params:
                if now.get(row["endpoint_id"]) != tuple(row[k] for k in SEEN_PARAMS):
                    ids.append(None)  # the endpoint changed: EndpointChanged
                    continue
                if len(row["body"]) < STREAMED_BODY_BYTES:
                    cursor.execute(SQLITE_INSERT, row)
                else:
                    cursor.execute(SQLITE_INSERT_ZEROED, {**row, "body_length": len(row["body"])})
                    with conn.blobopen("captured_requests", "body", cursor.lastrowid) as blob:
                        blob.write(row["body"])
                ids.append(cursor.lastrowid)
            conn.commit()
        self.checkpointer.written(len(rows))
        return ids

    def delete_requests(self, ids: list[int]) -> int:
        """Retention's delete of captured requests (and their resends) on SQLite; the
        caller holds writers(). Through the writer connection, whose commits never
        checkpoint: a session's commit ran SQLite's automatic checkpoint, fsync and
        all, after nearly every batch (under load the WAL is always past its 1,000
        pages) while every capture waited on the lock. The Checkpointer is told."""
        marks = ", ".join("?" * len(ids))
        with self._transaction() as (conn, cursor):
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(f"DELETE FROM resends WHERE request_id IN ({marks})", ids)
            cursor.execute(f"DELETE FROM captured_requests WHERE id IN ({marks})", ids)
            removed = cursor.rowcount
            conn.commit()
        self.checkpointer.written(removed)
        return removed

    def _write_postgres(self, rows: list[dict]) -> list[int]:
        """One transaction in one round trip: a single row is a statement of its own on
        the autocommit connection; a batch is BEGIN, its rows in order (each sees those
        before it, for duplicate_of) and COMMIT in one pipeline. That took three round
        trips, the last for pg_notify + COMMIT: 287 -> 110 µs for a row alone."""
        params = [_params(values, sqlite=False) for values in rows]
        with self._transaction() as (conn, cursor):
            if len(params) == 1:
                cursor.execute(POSTGRES_STORE, params[0])
            else:
                driver = conn.dbapi_connection
                with driver.pipeline():
                    driver.execute("BEGIN")
                    cursor.executemany(POSTGRES_STORE, params, returning=True)
                    driver.execute("COMMIT")
            found = [cursor.fetchone()]
            while cursor.nextset():
                found.append(cursor.fetchone())
        self.statistics.written(len(rows))
        self.count_folder.written(len(rows))
        return [row[0] if row else None for row in found]  # no row: the endpoint changed

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[tuple[Any, Any]]:
        """The writer connection and a cursor on it. If the block fails, its transaction
        is undone (a connection that cannot even roll back is replaced) and the error
        goes on to the caller."""
        conn = self._connection()
        try:
            yield conn, conn.cursor()
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001 - a broken connection: start afresh
                self._discard()
            raise

    def close(self) -> None:
        """Close every connection (the engine was disposed); reads still running close
        theirs when they finish."""
        with self._lock:
            self._closed = True
        self._discard()
        if self._writers is not None:
            self._writers.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


_CREATING = threading.Lock()


def capture_store(app: Flask) -> CaptureStore:
    """The app's capture store in this process, made on first use (again after a fork)."""
    found = app.extensions.get("inspector.capture_store")
    if found is None or found.pid != os.getpid():
        with _CREATING:
            found = app.extensions.get("inspector.capture_store")
            if found is None or found.pid != os.getpid():
                with app.app_context():  # capture runs outside Flask's contexts
                    engine = db.engine
                found = CaptureStore(engine)
                sa.event.listen(engine, "engine_disposed", lambda _engine: found.close())
                app.extensions["inspector.capture_store"] = found
    return found


def store(app: Flask, values: dict) -> int:
    """Commit one captured row (batched with concurrent ones), then wake local streams."""
    request_id = capture_store(app).group.store(values)
    live.hub(app).notify((values["endpoint_id"],))
    return request_id
