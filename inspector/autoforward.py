"""Auto-forward: every new request of an endpoint goes to its forward URL, in order, once.

Design
------
Capture never waits for forwarding: the capture view commits and answers;
sending happens in background threads that read what was committed.

* Position: one `ForwardCursor` row per endpoint with auto-forward on holds
  the last request sent (a `live.Cursor`: the id, and the txid on
  PostgreSQL), so "what is next" is the stream order the live pages use:
  arrival (commit) order, nothing skipped.
* Exactly once across workers and processes: a process sends for an endpoint
  only while it holds that row's lease, taken with one atomic
  `UPDATE ... WHERE owner IS NULL OR lease expired`. After each send the
  attempt is stored and the cursor advanced in one transaction, fenced by
  `WHERE owner = me`. The lease always outlasts the send in flight (it is
  renewed whenever less than two sends' worth of time is left) and is given
  back when nothing is left, so any process can take the next request. Only
  a process killed between sending and committing can cause a second send
  of that one request (after its lease expires).
* Waking up: each process runs one coordinator thread (started lazily after
  the first request it serves; not under TESTING, where tests call
  `run_pending`). While some endpoint has auto-forward on it waits on the
  live `Hub` (woken by commits of any process, at most ten looks a second)
  and looks twice a second anyway for expired leases; otherwise it looks
  once a second. For each endpoint with work and a free lease it starts one
  drain thread, so a slow or dead target delays only its own endpoint, and
  never capture.
* Switching on starts from the newest request (the cursor row is written in
  the same transaction that turns the setting on); switching off deletes it.
* The app not answering (connection refused or reset, no answer within
  INSPECTOR_FORWARD_TIMEOUT), as in `inspector forward`: the cursor stays
  put and the drain sends the same request again, waiting 0.25 s, 0.5 s,
  1 s, then every 2 s, until the app answers; any HTTP status, 5xx too,
  counts as delivered. Later requests wait behind it, so order holds. Only
  the first failure of a request at a URL is stored (the dashboard shows
  "connection refused ... is your app running?"), then the delivery, not a
  row per try. While waiting the drain keeps the lease, but a short one
  (renewed to a full one before each send), so a process that exits while
  waiting frees the endpoint within about ten seconds. Each try reads the endpoint
  again: switching auto-forward off (or deleting the endpoint) ends the
  wait, and a changed forward URL gets the waiting request instead.
* A request that can never be sent (a target the policy refuses, our own
  capture URL, a body that was not stored) is recorded and passed over.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Callable, Optional

import httpx
import sqlalchemy as sa
from flask import Flask, request
from sqlalchemy.exc import IntegrityError

from . import live
from .background import BackgroundThread
from .forwarder import APP_BACKOFF, unreachable
from .models import CapturedRequest, Endpoint, ForwardCursor, Resend, db
from .resend import ResendError, TargetRefused
from .sender import (Policy, deliver, new_client, outgoing_for, record, refuse_own_capture,
                     refused_attempt)

log = logging.getLogger(__name__)

WAIT_SECONDS = 0.5
IDLE_SECONDS = 1.0
MIN_GAP_SECONDS = 0.1
SWEEP_SECONDS = 5.0
LEASE_MARGIN = 30.0
TRIGGER = "auto"
RETRY_BACKOFF = APP_BACKOFF  # waits for an app that does not answer; the last one repeats
# The lease while waiting between tries: the longest wait and room to spare. Safe however
# short: every send first renews (or takes back) the lease with the atomic claim.
HOLD_SECONDS = RETRY_BACKOFF[-1] + 10.0
# What forward_next did: moved past a request, found nothing (more) to do, or must try again.
SENT, DONE, RETRY = "sent", "done", "retry"


def _enabled():
    """Condition: auto-forward on, with somewhere to send."""
    return sa.and_(Endpoint.auto_forward.is_(True), Endpoint.forward_url.is_not(None),
                   Endpoint.forward_url != "")


def start_cursor(endpoint_id: int) -> dict:
    """Column values for a cursor at the endpoint's newest settled request."""
    cursor = live.cursor_after(endpoint_id, None)
    return {"endpoint_id": endpoint_id, "request_id": cursor.id, "txid": cursor.txid,
            "owner": None, "lease_expires": 0.0}


def _on_flush(session, _context) -> None:
    """Turning auto-forward on starts a fresh cursor; turning it off forgets it."""
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, Endpoint):
            continue
        history = sa.inspect(obj).attrs.auto_forward.history
        if not history.added:
            continue
        on, was_on = bool(history.added[0]), bool(history.deleted and history.deleted[0])
        if on == was_on and obj not in session.new:
            continue
        session.execute(sa.delete(ForwardCursor).where(ForwardCursor.endpoint_id == obj.id))
        if on:
            session.execute(sa.insert(ForwardCursor).values(**start_cursor(obj.id)))


sa.event.listen(sa.orm.Session, "after_flush", _on_flush)


def _lease_seconds(policy: Policy) -> float:
    """Longer than one send can take (a connect per address, then the answer)."""
    return 3 * policy.timeout + LEASE_MARGIN


def claim(endpoint_id: int, owner: str, policy: Policy) -> bool:
    """Take the endpoint's lease if it is free or expired (atomic); commits."""
    now = time.time()
    taken = db.session.execute(
        sa.update(ForwardCursor)
        .where(ForwardCursor.endpoint_id == endpoint_id,
               sa.or_(ForwardCursor.owner.is_(None), ForwardCursor.owner == owner,
                      ForwardCursor.lease_expires < now))
        .values(owner=owner, lease_expires=now + _lease_seconds(policy))).rowcount
    db.session.commit()
    return taken == 1


def release(endpoint_id: int, owner: str) -> None:
    """Give the lease back so any process can send the next request."""
    db.session.execute(sa.update(ForwardCursor)
                       .where(ForwardCursor.endpoint_id == endpoint_id,
                              ForwardCursor.owner == owner)
                       .values(owner=None, lease_expires=0.0))
    db.session.commit()


def _advance(endpoint_id: int, owner: str, cursor: live.Cursor) -> bool:
    """Move the cursor past the request just sent, only while we hold the lease."""
    return db.session.execute(
        sa.update(ForwardCursor)
        .where(ForwardCursor.endpoint_id == endpoint_id, ForwardCursor.owner == owner)
        .values(request_id=cursor.id, txid=cursor.txid)).rowcount == 1


def _hold(endpoint_id: int, owner: str) -> bool:
    """Keep the lease while waiting for the app, briefly: a process that exits meanwhile
    frees the endpoint soon (the next send renews it to a full lease)."""
    return db.session.execute(
        sa.update(ForwardCursor)
        .where(ForwardCursor.endpoint_id == endpoint_id, ForwardCursor.owner == owner)
        .values(lease_expires=time.time() + HOLD_SECONDS)).rowcount == 1


def _failure_recorded(request_id: int, url: str) -> bool:
    """Whether the request's latest auto attempt already says `url` did not answer."""
    last = db.session.execute(
        sa.select(Resend.url, Resend.status_code)
        .where(Resend.request_id == request_id, Resend.trigger == TRIGGER)
        .order_by(Resend.id.desc()).limit(1)).first()
    return last is not None and last.status_code is None and last.url == url


def _wait_for_app(endpoint_id: int, owner: str, request_id: int, outgoing, attempt) -> str:
    """The app did not answer: keep the position; store only the first failure at this URL."""
    if not _hold(endpoint_id, owner):
        db.session.rollback()
        return DONE
    if not _failure_recorded(request_id, attempt.url):
        record(request_id, outgoing, attempt, TRIGGER)
    try:
        db.session.commit()
    except IntegrityError:  # the request was deleted meanwhile: the next try moves past it
        db.session.rollback()
    return RETRY


def forward_next(endpoint_id: int, owner: str, policy: Policy,
                 client: Optional[httpx.Client] = None) -> str:
    """Send the next request of the endpoint and record it: SENT once past it, RETRY when
    the app did not answer (position kept), DONE when nothing is left or no longer ours."""
    state = db.session.get(ForwardCursor, endpoint_id)
    endpoint = db.session.get(Endpoint, endpoint_id)
    if state is None or state.owner != owner or endpoint is None or not endpoint.forward_url:
        return DONE
    rows, cursor = live.read_after(endpoint_id, live.Cursor(state.request_id, state.txid), limit=1)
    if not rows:
        return DONE
    # The stream's read lists the row; sending it takes its headers and body too.
    row, url = db.session.get(CapturedRequest, rows[0].id), endpoint.forward_url
    if row is None:  # deleted since (a clear, retention): nothing to send, move on
        moved = _advance(endpoint_id, owner, cursor)
        db.session.commit()
        return SENT if moved else DONE
    try:
        refuse_own_capture(url)
        outgoing, failure = outgoing_for(row, endpoint, url, append_path=True), None
    except ResendError as exc:
        outgoing, failure = None, str(exc)
    request_id, method = row.id, row.method
    # Renew (one commit) only when the lease might run out during this send.
    if state.lease_expires - time.time() < 2 * policy.timeout + LEASE_MARGIN \
            and not claim(endpoint_id, owner, policy):
        return DONE
    db.session.remove()  # hold no transaction while waiting on the target
    try:
        attempt = (deliver(outgoing, policy, client) if outgoing
                   else refused_attempt(url, method, failure))
    except TargetRefused as exc:  # the policy forbids it: trying again would not help
        outgoing, attempt = None, refused_attempt(url, method, str(exc))
    if outgoing is not None and unreachable(attempt):
        return _wait_for_app(endpoint_id, owner, request_id, outgoing, attempt)
    if not _advance(endpoint_id, owner, cursor):
        db.session.rollback()
        return DONE
    record(request_id, outgoing, attempt, TRIGGER)
    try:
        db.session.commit()
    except IntegrityError:  # the request was deleted meanwhile: still move on
        db.session.rollback()
        _advance(endpoint_id, owner, cursor)
        db.session.commit()
    return SENT


def drain(app: Flask, endpoint_id: int, owner: str, policy: Policy,
          pause: Optional[Callable[[float], None]] = None) -> int:
    """Send everything pending for one endpoint we hold the lease of; returns how many.

    While the app does not answer, `pause` waits (backing off) before the same request is
    tried again; without it (`run_pending`) the drain stops there and the next one retries.
    """
    sent, failures = 0, 0
    try:
        with new_client(policy) as client:
            while True:
                with app.app_context():
                    outcome = forward_next(endpoint_id, owner, policy, client)
                    if outcome == DONE or (outcome == RETRY and pause is None):
                        release(endpoint_id, owner)
                        return sent
                if outcome == SENT:
                    sent, failures = sent + 1, 0
                    continue
                pause(RETRY_BACKOFF[min(failures, len(RETRY_BACKOFF) - 1)])
                failures += 1
    finally:
        with app.app_context():
            db.session.remove()


def ready_endpoints(owner: str, busy: set[int]) -> tuple[bool, list[int]]:
    """Whether any endpoint forwards, and those with a request waiting and a lease we could take."""
    rows = db.session.execute(
        sa.select(Endpoint.id, ForwardCursor)
        .outerjoin(ForwardCursor, ForwardCursor.endpoint_id == Endpoint.id)
        .where(_enabled())).all()
    ready, now = [], time.time()
    for endpoint_id, state in rows:
        if endpoint_id in busy:
            continue
        if state is None:  # switched on without the ORM (raw SQL): start from now
            try:
                db.session.execute(sa.insert(ForwardCursor).values(**start_cursor(endpoint_id)))
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
            continue
        if state.owner not in (None, owner) and state.lease_expires >= now:
            continue
        pending, _ = live.read_after(endpoint_id, live.Cursor(state.request_id, state.txid),
                                     limit=1)
        if pending:
            ready.append(endpoint_id)
    return bool(rows), ready


def forget_disabled() -> None:
    """Cursors of endpoints switched off without the ORM (the flush hook covers the rest)."""
    stale = db.session.scalars(
        sa.select(ForwardCursor.endpoint_id)
        .join(Endpoint, Endpoint.id == ForwardCursor.endpoint_id).where(sa.not_(_enabled()))).all()
    if stale:
        db.session.execute(sa.delete(ForwardCursor).where(ForwardCursor.endpoint_id.in_(stale)))
        db.session.commit()


def _owner_id() -> str:
    """Names this process in leases: host, pid and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AutoForwarder:
    """This process's coordinator thread and its per-endpoint drain threads."""

    def __init__(self, app: Flask):
        self.app = app
        self.owner = _owner_id()
        self.poke = threading.Event()
        self._coordinator = BackgroundThread(self._run, "inspector-autoforward")
        self._drainers: dict[int, threading.Thread] = {}

    def policy(self) -> Policy:
        """Current settings."""
        return Policy.from_config(self.app.config)

    def ensure_running(self) -> None:
        """Start the coordinator once per process (again after a fork)."""
        self._coordinator.ensure(before_start=self._forget_parent)

    def _forget_parent(self) -> None:
        """Before the coordinator (re)starts: a forked child is another lease holder."""
        self._drainers = {}
        self.owner = _owner_id()

    def step(self, start_drain, sweep: bool = True) -> bool:
        """One look: start a drain for each endpoint that has work; True if any is enabled."""
        busy = {e for e, t in self._drainers.items() if t.is_alive()}
        with self.app.app_context():
            try:
                if sweep:
                    forget_disabled()
                enabled, ready = ready_endpoints(self.owner, busy)
                claimed = [e for e in ready if claim(e, self.owner, self.policy())]
            finally:
                db.session.remove()
        for endpoint_id in claimed:
            start_drain(endpoint_id)
        return enabled

    def _start_thread(self, endpoint_id: int) -> None:
        """A drain thread for one endpoint."""
        thread = threading.Thread(target=self._drain_logged, args=(endpoint_id,), daemon=True,
                                  name=f"inspector-autoforward-{endpoint_id}")
        self._drainers[endpoint_id] = thread
        thread.start()

    def _drain_logged(self, endpoint_id: int) -> None:
        """Drain, never letting an error kill the thread silently; then wake the coordinator."""
        try:
            drain(self.app, endpoint_id, self.owner, self.policy(), pause=time.sleep)
        except Exception:  # noqa: BLE001 - a lost database must not end forwarding for good
            log.exception("auto-forward of endpoint %s failed; will retry", endpoint_id)
        finally:
            self.poke.set()
            live.hub(self.app).notify()

    def _run(self) -> None:
        """Coordinator loop: look, start drains, wait for a commit or a poke."""
        hub, listening, seen, last_sweep = live.hub(self.app), False, 0, 0.0
        while True:
            sweep = time.monotonic() - last_sweep > SWEEP_SECONDS
            try:
                enabled = self.step(self._start_thread, sweep)
                last_sweep = time.monotonic() if sweep else last_sweep
            except Exception:  # noqa: BLE001
                log.exception("auto-forward coordinator error; retrying in 1 s")
                enabled = False
                time.sleep(IDLE_SECONDS)
            if enabled != listening:
                (hub.open if enabled else hub.close)()
                listening = enabled
            if listening:
                seen = hub.wait(seen, WAIT_SECONDS)
                time.sleep(MIN_GAP_SECONDS)  # a burst of commits costs one look, not one each
            else:
                self.poke.wait(IDLE_SECONDS)
            self.poke.clear()


def forwarder(app: Flask) -> AutoForwarder:
    """This process's auto-forwarder for the app."""
    return app.extensions["inspector.autoforward"]


def run_pending(app: Flask) -> None:
    """Forward everything waiting, in the calling thread (what tests use under TESTING)."""
    fw = forwarder(app)
    fw.step(lambda endpoint_id: drain(app, endpoint_id, fw.owner, fw.policy()))


def init_app(app: Flask) -> None:
    """Attach the forwarder; a served process starts it after its first request."""
    app.extensions["inspector.autoforward"] = AutoForwarder(app)
    if app.testing:
        return

    @app.after_request
    def _wake_forwarder(response):
        fw = forwarder(app)
        fw.ensure_running()
        # A page or API write may have switched auto-forward on. Captures need no
        # poke: while forwarding is on, the coordinator already wakes on commits,
        # and poking it per capture cost a query per webhook (a quarter of capture CPU).
        if not request.path.startswith("/hooks/"):
            fw.poke.set()
        return response
