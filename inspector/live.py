"""Live delivery of newly stored requests to open streams.

Each server process has one `Hub`. Streams wait on it and, when woken, read
what is new from the database, so a request captured by any worker or any
process sharing the database reaches every stream:

* SQLite: one watcher thread per process reads `PRAGMA data_version` (a
  counter in shared memory, no table read) each time a file of the database
  is written (inotify; a poll every few milliseconds where that is missing),
  while at least one stream is open.
* PostgreSQL: the capture transaction sends `pg_notify`; one listener
  connection per process wakes the streams of that endpoint.

Order and gaps: a stream's position is a `Cursor`. On SQLite the writer lock
is held from id allocation to commit, so ids commit in order and the cursor
is the id. On PostgreSQL ids can commit out of order, so rows carry the id of
the transaction that wrote them (`txid`) and a stream only reads rows whose
transaction is older than every transaction still running: what it has read
is then final, and resuming after the last id it sent skips nothing.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

import sqlalchemy as sa
from flask import Flask, request, session
from itsdangerous import BadSignature

from . import file_changes
from .background import BackgroundThread
from .models import CapturedRequest, db

log = logging.getLogger(__name__)

CHANNEL = "inspector_requests"
SQLITE_POLL_SECONDS = 0.004  # without inotify
SQLITE_RECHECK_SECONDS = 0.25  # with it: a commit wakes the watcher, this is a safety net
SQLITE_LOOKS_AFTER_WRITE = 25  # polls after a file write, until its commit shows (100 ms)
BATCH = 200


@dataclass(frozen=True)
class Cursor:
    """Position in one endpoint's stream: the last request sent (and its txid on PostgreSQL)."""

    id: int = 0
    txid: int = 0


class Hub:
    """Wakes this process's waiting streams when something new may be stored."""

    def __init__(self, app: Flask):
        self.app = app
        self._cond = threading.Condition()
        self._version = 0  # every wake-up
        self._everyone = 0  # wake-ups that name no endpoint (SQLite's commit counter)
        self._per_endpoint: dict[int, int] = {}
        self._listeners = 0
        self._watcher = BackgroundThread(self._watch, "inspector-live-watcher")

    def notify(self, endpoint_ids: Optional[Iterable[int]] = None) -> None:
        """Something was committed: let the streams of these endpoints (None: every
        stream) look. Naming them spares the others a query per commit under load."""
        with self._cond:
            self._version += 1
            if endpoint_ids is None:
                self._everyone += 1
            else:
                for endpoint_id in endpoint_ids:
                    self._per_endpoint[endpoint_id] = self._per_endpoint.get(endpoint_id, 0) + 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the version moves past `seen` or the timeout passes."""
        with self._cond:
            if self._version == seen:
                self._cond.wait(timeout)
            return self._version

    def mark(self, endpoint_id: int) -> tuple[int, int]:
        """Where one endpoint's wake-ups stand."""
        return self._everyone, self._per_endpoint.get(endpoint_id, 0)

    def wait_for(self, endpoint_id: int, seen: tuple[int, int], timeout: float) -> tuple[int, int]:
        """Block until something may be new for this endpoint, or the timeout passes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.mark(endpoint_id) == seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self.mark(endpoint_id)

    @property
    def version(self) -> int:
        """The current wake-up count."""
        return self._version

    def open(self) -> None:
        """A stream starts: make sure the cross-process watcher runs."""
        with self._cond:
            self._listeners += 1
            self._cond.notify_all()
        self._watcher.ensure()

    def close(self) -> None:
        """A stream ended."""
        with self._cond:
            self._listeners -= 1

    def _watch(self) -> None:
        """Run the watcher for this backend, restarting it after errors."""
        with self.app.app_context():
            url = db.engine.url
        while True:
            try:
                if url.get_backend_name() == "sqlite":
                    self._watch_sqlite(url.database)
                else:
                    self._watch_postgres(url)
            except Exception:  # noqa: BLE001 - a watcher must outlive a lost connection
                log.exception("live watcher failed; restarting in 1 s")
                time.sleep(1)

    def _idle(self) -> None:
        """Sleep while no stream is open, so an idle server costs nothing."""
        with self._cond:
            while self._listeners <= 0:
                self._cond.wait()

    def _watch_sqlite(self, path: str) -> None:
        """Read the cheap commit counter whenever the database's files are written
        (polling where inotify is missing); a change by another connection wakes streams."""
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        changes = file_changes.watch(os.path.dirname(os.path.abspath(path)))
        try:
            last = conn.execute("PRAGMA data_version").fetchone()[0]
            looks_left = 0
            while True:
                self._idle()
                if changes is None:
                    time.sleep(SQLITE_POLL_SECONDS)
                elif changes.wait(SQLITE_POLL_SECONDS if looks_left else SQLITE_RECHECK_SECONDS):
                    # The WAL is written before its commit is visible (in the shared
                    # memory index, which inotify does not see), so after a wake-up keep
                    # looking a while: one look 4 ms later missed a writer descheduled
                    # in between, and its commit waited for the 250 ms recheck.
                    looks_left = SQLITE_LOOKS_AFTER_WRITE
                else:
                    looks_left = max(0, looks_left - 1)
                current = conn.execute("PRAGMA data_version").fetchone()[0]
                if current != last:
                    last, looks_left = current, 0
                    self.notify()
        finally:
            conn.close()
            if changes is not None:
                changes.close()

    def _watch_postgres(self, url: sa.URL) -> None:
        """LISTEN on the channel the capture transaction notifies."""
        import psycopg

        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.notify()  # anything committed while we were not listening
            while True:
                payloads = [n.payload for n in conn.notifies(timeout=1.0, stop_after=1)]
                if payloads:
                    # What arrived meanwhile wakes the streams once, not once each:
                    # under load notifications come faster than wake-ups are served,
                    # and a backlog would keep streams busy long after the load.
                    payloads += [n.payload for n in conn.notifies(timeout=0.0)]
                    try:
                        self.notify({int(payload) for payload in payloads})
                    except ValueError:  # a payload that names no endpoint: wake all
                        self.notify()


def hub(app: Flask) -> Hub:
    """This process's hub for the app."""
    return app.extensions["inspector.hub"]


def init_app(app: Flask) -> None:
    """Attach a hub to the app."""
    app.extensions["inspector.hub"] = Hub(app)


def notify_in_transaction(endpoint_id: int) -> None:
    """Queue a notification that PostgreSQL delivers when the transaction commits."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                           {"channel": CHANNEL, "payload": str(endpoint_id)})


def _is_postgres() -> bool:
    """Whether ordering needs the txid horizon."""
    return db.engine.dialect.name == "postgresql"


# A stream's reads on PostgreSQL walk ix_captured_endpoint_txid (endpoint_id, txid, id)
# from the cursor on. So the cursor's txid is compared as an xid8, as the column is,
# and the bigint the cursor keeps is only the output's (named `tx`: an output column
# named `txid` would be what ORDER BY txid sorts by). Compared as bigints, every read
# walked, then sorted, all of the endpoint's rows: 10 ms at 10,000 of them.
SETTLED = "txid < pg_snapshot_xmin(pg_current_snapshot())"  # no running transaction is older
AFTER_CURSOR = "(txid, id) > (CAST(CAST(:tx AS text) AS xid8), :id)"
NEWEST_SETTLED = ("SELECT id, txid::text::bigint AS tx FROM captured_requests"
                  f" WHERE endpoint_id = :e AND {SETTLED} ORDER BY txid DESC, id DESC LIMIT 1")


def cursor_after(endpoint_id: int, request_id: Optional[int]) -> Cursor:
    """The cursor just after `request_id`, or at the newest settled row when None."""
    if not _is_postgres():
        if request_id is not None:
            return Cursor(request_id)
        newest = db.session.scalar(sa.select(sa.func.max(CapturedRequest.id))
                                   .where(CapturedRequest.endpoint_id == endpoint_id))
        return Cursor(newest or 0)
    if request_id is not None:
        row = db.session.execute(sa.text(
            "SELECT txid::text::bigint FROM captured_requests WHERE id = :id"),
            {"id": request_id}).first()
        if row is None:  # the row is gone (cleared): resume from the last one before it
            row = db.session.execute(sa.text(
                "SELECT max(txid::text::bigint) FROM captured_requests"
                " WHERE endpoint_id = :e AND id <= :id"),
                {"e": endpoint_id, "id": request_id}).first()
        return Cursor(request_id, (row[0] or 0) if row else 0)
    row = db.session.execute(sa.text(NEWEST_SETTLED), {"e": endpoint_id}).first()
    return Cursor(row[0], row[1]) if row else Cursor(0, 0)


Filter = Callable[[sa.Select], sa.Select]
_TABLE = CapturedRequest.__table__
# What a stream sends of a row (a list row, an event summary): all but headers and
# body, which may be 25 MiB. Read as plain rows, not ORM objects: building those
# took 0.6 ms a read, and 3-4 ms under load in a worker busy capturing. The rows'
# attributes are named as CapturedRequest's, so the row template and
# serialize.summary() take either.
LISTED_COLUMNS = tuple(c for c in _TABLE.c if c.name not in ("headers", "body"))


def _settled_after(postgres: bool, *columns) -> sa.Select:
    """`columns` of the settled rows after the cursor (parameters :e, :id, :limit and
    on PostgreSQL :tx), in stream order; on PostgreSQL with the row's txid as a
    bigint (`tx`) last."""
    query = sa.select(*columns).where(_TABLE.c.endpoint_id == sa.bindparam("e"))
    limit = sa.bindparam("limit", type_=sa.Integer)
    if not postgres:
        return query.where(_TABLE.c.id > sa.bindparam("id")).order_by(_TABLE.c.id).limit(limit)
    return (query.add_columns(sa.literal_column("txid::text::bigint").label("tx"))
            .where(sa.text(AFTER_CURSOR), sa.text(SETTLED))
            .order_by(sa.literal_column("txid"), _TABLE.c.id).limit(limit))


# Built once, so SQLAlchemy finds each one's compiled form by its cached key. By
# whether the database is PostgreSQL: the rows themselves (an unfiltered stream,
# one query a read), or their positions only (a filtered stream).
ROWS_AFTER = {postgres: _settled_after(postgres, *LISTED_COLUMNS) for postgres in (False, True)}
POSITIONS_AFTER = {postgres: _settled_after(postgres, _TABLE.c.id) for postgres in (False, True)}


def read_after(endpoint_id: int, cursor: Cursor, where: Optional[Filter] = None,
               limit: int = BATCH, connection: Optional[sa.Connection] = None
               ) -> tuple[list[sa.Row], Cursor]:
    """Settled rows after the cursor (LISTED_COLUMNS), in stream order, and the cursor
    after them.

    Without `where`, one query reads the rows. `where` narrows them (the
    dashboard's filters): then the positions are read first, so the cursor still
    moves past rows the filter skips and a filtered stream does not read them
    again. The reads go through `connection` (the app session's when None).
    """
    connection = connection or db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    params = {"e": endpoint_id, "id": cursor.id, "limit": limit}
    if postgres:
        params["tx"] = cursor.txid
    found = connection.execute((ROWS_AFTER if where is None else POSITIONS_AFTER)[postgres],
                               params).all()
    if not found:
        return [], cursor
    rows = found
    if where is not None:
        order = {row.id: i for i, row in enumerate(found)}
        query = sa.select(*LISTED_COLUMNS).where(_TABLE.c.id.in_(order))
        rows = sorted(connection.execute(where(query)).all(), key=lambda r: order[r.id])
    last = found[-1]
    return rows, Cursor(last.id, last.tx if postgres else 0)


# Is there a row past the cursor, and is it settled? One indexed probe, no ORM.
PEEK_SQLITE = "SELECT 1 FROM captured_requests WHERE endpoint_id = ? AND id > ? LIMIT 1"
# (AFTER_CURSOR in the driver's positional style: the peek skips the ORM.)
PEEK_POSTGRES = (f"SELECT {SETTLED} FROM captured_requests WHERE endpoint_id = %s"
                 " AND (txid, id) > (CAST(CAST(%s AS text) AS xid8), %s)"
                 " ORDER BY txid, id LIMIT 1")
HELD_BACK_POLL = 0.5
SAFETY_POLL = 2.0
# How often at most a stream asks whether it should go on (its endpoint still
# exists, its rows were not cleared, its login holds): after a wake-up once this
# long has passed, so at most SAFETY_POLL + this late. An idle stream wakes every
# SAFETY_POLL seconds; checking at each would double what it costs the database.
# A shorter keep-alive (INSPECTOR_STREAM_KEEPALIVE) shortens it too.
LIFE_CHECK_SECONDS = 5.0
# Does the endpoint exist, and is any row the stream passed since (?, ?] still there?
LIFE_SQLITE = ("SELECT EXISTS(SELECT 1 FROM endpoints WHERE id = ?),"
               " EXISTS(SELECT 1 FROM captured_requests"
               " WHERE endpoint_id = ? AND id > ? AND id <= ?)")
LIFE_POSTGRES = LIFE_SQLITE.replace("?", "%s")


@dataclass(frozen=True)
class Cleared:
    """Every request the stream passed, up to `up_to`, was deleted: a clear (retention
    keeps the newest rows, so it never empties what a stream has passed)."""

    up_to: int


@dataclass(frozen=True)
class Ended:
    """A stream's last item: why it stops ("deleted": the endpoint is gone;
    "login": the login that opened it no longer holds)."""

    reason: str


def _stream_engine() -> sa.Engine:
    """The engine a stream reads with: on PostgreSQL in autocommit, so a read is its
    queries alone, without a BEGIN and a ROLLBACK round trip around them (each
    query reads settled rows only, so they need no shared snapshot)."""
    if _is_postgres():
        return db.engine.execution_options(isolation_level="AUTOCOMMIT")
    return db.engine


def _peek(app: Flask, endpoint_id: int, cursor: Cursor) -> Optional[bool]:
    """True: settled rows wait past the cursor; False: only rows of a transaction that
    is not yet behind the horizon (PostgreSQL); None: nothing new."""
    from .writer import capture_store

    with app.app_context():
        store = capture_store(app)
        row = store.query_one(PEEK_SQLITE, PEEK_POSTGRES,
                              (endpoint_id, cursor.id) if store.sqlite
                              else (endpoint_id, cursor.txid, cursor.id))
    return None if row is None else bool(row[0])


def _life(app: Flask, endpoint_id: int, floor: int, passed: int) -> tuple[bool, bool]:
    """Whether the endpoint exists, and whether any row in (floor, passed] is left."""
    from .writer import capture_store

    with app.app_context():
        store = capture_store(app)
        row = store.query_one(LIFE_SQLITE, LIFE_POSTGRES,
                              (endpoint_id, endpoint_id, floor, passed))
    return bool(row[0]), bool(row[1])


def login_check(app: Flask) -> Callable[[], bool]:
    """The login the current request was let in with, as a check a stream repeats.

    Sessions are signed cookies with no record on the server, so a logout (which
    only makes the browser forget its cookie) cannot be seen here: what can is the
    cookie the stream opened with running out (PERMANENT_SESSION_LIFETIME) or no
    longer carrying a login. Without a password, or with a Bearer token (which
    the password check at the start settled), the check always holds."""
    marker = session.get("auth")
    cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
    signer = getattr(app.session_interface, "get_signing_serializer", None)
    if not app.config.get("PASSWORD") or not marker or not cookie or signer is None:
        return lambda: True
    serializer = signer(app)
    max_age = int(app.permanent_session_lifetime.total_seconds())

    def holds() -> bool:
        try:
            return serializer.loads(cookie, max_age=max_age).get("auth") == marker
        except BadSignature:  # expired too
            return False

    return holds


def follow(app: Flask, endpoint_id: int, cursor: Cursor, where: Optional[Filter] = None,
           keepalive: float = 15.0, still_allowed: Callable[[], bool] = lambda: True
           ) -> Iterator[Optional[sa.Row | Cleared | Ended]]:
    """Yield new rows (LISTED_COLUMNS) as they settle; None now and then as a
    keep-alive tick; `Cleared` when the rows it passed were deleted. Ends with an
    `Ended` when the endpoint is deleted or `still_allowed()` turns False.

    A wake-up that names this endpoint (a commit of its rows) reads at once. Any
    other wake-up first peeks with one cheap query; the read runs only when
    there is something to send. Each read hands its connection back at once, so
    an idle stream holds no transaction open (which would stall SQLite
    checkpoints and the PostgreSQL horizon). An idle stream costs one peek per
    SAFETY_POLL seconds (commits wake it at once, so this is only a safety net).
    Rows held back behind a running transaction (PostgreSQL) settle when some
    other transaction commits, usually one for another endpoint: while there are
    some, the stream peeks again after any commit, and at least every
    HELD_BACK_POLL seconds. Whether to go on is asked after wake-ups, at most every
    LIFE_CHECK_SECONDS (or keep-alive): a deleted endpoint or a lost login must not keep a
    worker thread (and a page that still says "live") for ever.
    """
    with app.app_context():
        engine = _stream_engine()
    the_hub = hub(app)
    the_hub.open()
    try:
        seen = the_hub.mark(endpoint_id)
        version = the_hub.version
        last_tick = time.monotonic()
        ready: Optional[bool] = True  # read once at the start: the replay
        named = False  # the last wake-up named this endpoint
        floor = 0  # rows up to here were reported cleared
        passed = cursor.id  # the newest row the stream has passed (PostgreSQL reads by txid)
        last_check, check_every = time.monotonic(), min(LIFE_CHECK_SECONDS, keepalive)
        while True:
            rows: list = []
            if ready:
                # A connection of its own, handed back (its transaction ended) at once.
                with app.app_context(), engine.connect() as connection:
                    rows, cursor = read_after(endpoint_id, cursor, where, connection=connection)
                passed = max(passed, cursor.id)
                yield from rows
                if len(rows) == BATCH:
                    continue  # more waiting; no need to sleep
                if named and not rows:
                    # Read without a peek, and found nothing settled: the peek says
                    # whether rows are held back behind a running transaction.
                    ready = _peek(app, endpoint_id, cursor)
                    if ready:
                        # They settled between the read and the peek: read them now.
                        # Waiting instead held them until the endpoint's next commit
                        # (2 s for the last event of a burst).
                        named = False  # once: a second empty read waits as usual
                        continue
            # After the read, never between a wake-up and its read: delivery does not wait on it.
            if time.monotonic() - last_check >= check_every:
                last_check = time.monotonic()
                if not still_allowed():
                    yield Ended("login")
                    return
                exists, rows_left = _life(app, endpoint_id, floor, passed)
                if not exists:
                    yield Ended("deleted")
                    return
                if passed > floor and not rows_left:
                    floor = passed
                    yield Cleared(passed)
            now = time.monotonic()
            if now - last_tick >= keepalive:
                last_tick = now
                yield None
            until_tick = max(0.05, keepalive - (now - last_tick))
            if ready is False:
                the_hub.wait(version, min(HELD_BACK_POLL, until_tick))
                mark = the_hub.mark(endpoint_id)
            else:
                mark = the_hub.wait_for(endpoint_id, seen, min(SAFETY_POLL, until_tick))
            # A commit naming this endpoint (this process's capture, or PostgreSQL's
            # notification) almost always left a row to read: read it at once.
            named = mark[1] != seen[1]
            seen = mark
            version = the_hub.version  # before the peek: a commit after it is not missed
            ready = True if named else _peek(app, endpoint_id, cursor)
    finally:
        the_hub.close()
