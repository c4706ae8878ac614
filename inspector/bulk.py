"""Bulk replay: the requests of a filter, oldest first, to one URL, with live progress and stop.

A `BulkReplay` row is the job: the request ids chosen when it started, the
position reached, counts, and a state (`running`, `stopping`, `stopped`,
`done`, `interrupted`). The worker that started it runs it in a thread and
writes progress after each request, so any worker or process can show it
and any of them can ask it to stop (`state = 'stopping'`, which the runner
checks before each send and while it waits out the original spacing). The
runner holds a lease; a job whose lease ran out (its process ended) reads as
`interrupted`.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

import httpx
import sqlalchemy as sa
from flask import Flask

from .models import BulkReplay, CapturedRequest, Endpoint, db, utcnow
from .queries import RequestFilter
from .resend import Outgoing, ResendError, TargetRefused
from .sender import Attempt, Policy, deliver, new_client, outgoing_for, record, refused_attempt
from .serialize import iso

log = logging.getLogger(__name__)

PACINGS = ("fast", "original")
MAX_REQUESTS = 10_000
STOP_POLL = 0.2
LEASE_MARGIN = 30.0
TRIGGER = "bulk"
FINISHED = ("stopped", "done", "interrupted")


def create(endpoint: Endpoint, where: RequestFilter, url: str, pacing: str,
           append_path: bool, owner: str) -> BulkReplay:
    """A new running job over the filter's stored requests, oldest first (the caller commits)."""
    if pacing not in PACINGS:
        raise ResendError(f"pacing must be one of {', '.join(PACINGS)}.")
    query = where.apply(sa.select(CapturedRequest.id).where(
        CapturedRequest.endpoint_id == endpoint.id, CapturedRequest.rejected.is_(None)))
    ids = db.session.scalars(query.order_by(CapturedRequest.id).limit(MAX_REQUESTS + 1)).all()
    if not ids:
        raise ResendError("No stored requests match this filter, so there is nothing to replay.")
    if len(ids) > MAX_REQUESTS:
        raise ResendError(f"The filter matches more than {MAX_REQUESTS} requests; narrow it first.")
    job = BulkReplay(endpoint_id=endpoint.id, url=url, pacing=pacing, append_path=append_path,
                     filter=where.as_args(), request_ids=list(ids), state="running",
                     owner=owner, lease_expires=time.time() + LEASE_MARGIN)
    db.session.add(job)
    return job


def state_of(job: BulkReplay) -> str:
    """The state, with a dead runner's job shown as interrupted."""
    if job.state in ("running", "stopping") and job.lease_expires < time.time():
        return "interrupted"
    return job.state


def to_dict(job: BulkReplay) -> dict[str, Any]:
    """The JSON shape of a job."""
    total = len(job.request_ids)
    return {
        "id": job.id, "url": job.url, "pacing": job.pacing, "append_path": job.append_path,
        "filter": job.filter, "state": state_of(job), "total": total, "done": job.position,
        "succeeded": job.succeeded, "failed": job.failed,
        "next_request_id": job.request_ids[job.position] if job.position < total else None,
        "error": job.error, "created_at": iso(job.created_at), "finished_at": iso(job.finished_at),
    }


def request_stop(job: BulkReplay) -> None:
    """Ask the runner to stop; a job with no live runner stops at once (the caller commits)."""
    state = state_of(job)
    if state == "running":
        job.state = "stopping"
    elif state == "interrupted":
        job.state, job.finished_at = "stopped", utcnow()


def _fenced(job_id: int, owner: str, **values) -> bool:
    """Update the job only while we are its runner."""
    return db.session.execute(sa.update(BulkReplay).where(
        BulkReplay.id == job_id, BulkReplay.owner == owner).values(**values)).rowcount == 1


def _finish(job_id: int, owner: str, state: str, error: str | None = None) -> None:
    """Mark the job over."""
    _fenced(job_id, owner, state=state, finished_at=utcnow(), error=error, lease_expires=0.0)
    db.session.commit()


def _wait_until(app: Flask, job_id: int, due: float) -> bool:
    """Sleep until `due` (original spacing); False as soon as a stop is asked."""
    while True:
        with app.app_context():
            if db.session.scalar(sa.select(BulkReplay.state).where(BulkReplay.id == job_id)) \
                    != "running":
                return False
        left = due - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(STOP_POLL, left))


@dataclass
class _Next:
    """The request a step is about to send."""

    position: int
    request_id: int
    url: str
    method: str = ""
    outgoing: Optional[Outgoing] = None
    failure: Optional[str] = None  # why it cannot be sent (recorded as the attempt's error)
    gone: bool = False  # deleted since the job started: skipped
    due: float = 0.0  # time.monotonic() to send at


class Runner:
    """Runs one job in the calling thread, writing progress after each request."""

    def __init__(self, app: Flask, job_id: int, owner: str):
        self.app, self.job_id, self.owner = app, job_id, owner
        self.policy = Policy.from_config(app.config)
        self.origin: Optional[tuple] = None  # (first received_at, when it was sent)

    def _next(self) -> Optional[_Next]:
        """Plan the next send and renew the lease; None when the job is over."""
        job = db.session.get(BulkReplay, self.job_id)
        if job is None or job.owner != self.owner:
            return None
        if job.state == "stopping" or job.position >= len(job.request_ids):
            _finish(self.job_id, self.owner, "stopped" if job.state == "stopping" else "done")
            return None
        step = _Next(job.position, job.request_ids[job.position], job.url, due=time.monotonic())
        row = db.session.get(CapturedRequest, step.request_id)
        if row is None:
            step.gone = True
        else:
            step.method = row.method
            if job.pacing == "original":
                self.origin = self.origin or (row.received_at, time.monotonic())
                step.due = self.origin[1] + (row.received_at - self.origin[0]).total_seconds()
            try:
                step.outgoing = outgoing_for(row, db.session.get(Endpoint, job.endpoint_id),
                                             job.url, append_path=job.append_path)
            except ResendError as exc:
                step.failure = str(exc)
        wait = max(0.0, step.due - time.monotonic())
        _fenced(self.job_id, self.owner,
                lease_expires=time.time() + wait + 3 * self.policy.timeout + LEASE_MARGIN)
        db.session.commit()
        return step

    def _send(self, step: _Next, client: httpx.Client) -> Optional[Attempt]:
        """Send (or explain why not); None for a request that is gone."""
        if step.gone:
            return None
        if step.outgoing is None:
            return refused_attempt(step.url, step.method, step.failure)
        try:
            return deliver(step.outgoing, self.policy, client)
        except TargetRefused as exc:
            return refused_attempt(step.url, step.method, str(exc))

    def _save(self, step: _Next, attempt: Optional[Attempt]) -> bool:
        """Record the attempt and move on, while the job is still ours."""
        counts = {}
        if attempt is not None:
            ok = attempt.error is None and 200 <= (attempt.status_code or 0) < 400
            counts = ({"succeeded": BulkReplay.succeeded + 1} if ok
                      else {"failed": BulkReplay.failed + 1})
        if not _fenced(self.job_id, self.owner, position=step.position + 1, **counts):
            db.session.rollback()
            return False
        if attempt is not None:
            record(step.request_id, step.outgoing, attempt, TRIGGER)
        db.session.commit()
        return True

    def step(self, client: httpx.Client) -> bool:
        """Send the job's next request; False when the job is over."""
        with self.app.app_context():
            step = self._next()
        if step is None:
            return False
        if step.due > time.monotonic() and not _wait_until(self.app, self.job_id, step.due):
            return True  # a stop was asked: the next step finishes the job
        attempt = self._send(step, client)
        with self.app.app_context():
            return self._save(step, attempt)

    def run(self) -> None:
        """Run the job to its end (or stop)."""
        try:
            with new_client(self.policy) as client:
                while self.step(client):
                    pass
        except Exception as exc:  # noqa: BLE001 - the job must end visibly, not hang as running
            log.exception("bulk replay %s failed", self.job_id)
            with self.app.app_context():
                db.session.rollback()
                _finish(self.job_id, self.owner, "interrupted",
                        f"The replay stopped on an error: {exc}")


def start(app: Flask, job_id: int, owner: str) -> threading.Thread:
    """Run the job in a background thread of this process."""
    thread = threading.Thread(target=Runner(app, job_id, owner).run, daemon=True,
                              name=f"inspector-bulk-{job_id}")
    thread.start()
    return thread
