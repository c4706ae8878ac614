"""Retention: keep at most INSPECTOR_MAX_REQUESTS per endpoint, oldest pruned first.

Capture only marks the endpoint as touched; a background thread per process
prunes touched endpoints about once a second, so a long delete never sits
between a webhook sender and its 2xx.
"""
from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from flask import Flask

from .background import BackgroundThread
from .models import CapturedRequest, Resend, db
from .writer import CaptureStore, capture_store

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 1.0
# Small batches: each holds the writer lock, and captures queue behind it.
DELETE_BATCH = 500


def prune_endpoint(endpoint_id: int, keep: int, store: CaptureStore) -> int:
    """Delete all but the newest `keep` requests of one endpoint; returns how many went.

    Deletes in batches so one huge backlog does not hold the write lock for long,
    each batch inside the capture store's writers' lock (SQLite): capture writers
    queue on it, so they are woken the moment a batch commits instead of sleeping
    in SQLite's busy handler (which backs off up to 100 ms a try, and made
    captures wait 800 ms).
    """
    if keep <= 0:
        return 0
    cutoff = db.session.scalar(
        sa.select(CapturedRequest.id).where(CapturedRequest.endpoint_id == endpoint_id)
        .order_by(CapturedRequest.id.desc()).offset(keep).limit(1))
    if cutoff is None:
        return 0
    removed = 0
    while True:
        ids = db.session.scalars(
            sa.select(CapturedRequest.id)
            .where(CapturedRequest.endpoint_id == endpoint_id, CapturedRequest.id <= cutoff)
            .order_by(CapturedRequest.id).limit(DELETE_BATCH)).all()
        if not ids:
            return removed
        db.session.commit()  # end the read before queuing for the writers' lock
        with store.writers():
            if store.sqlite:
                removed += store.delete_requests(ids)
            else:
                db.session.execute(sa.delete(Resend).where(Resend.request_id.in_(ids)))
                removed += db.session.execute(
                    sa.delete(CapturedRequest).where(CapturedRequest.id.in_(ids))).rowcount
                db.session.commit()


class Pruner:
    """Collects touched endpoints and prunes them from one background thread."""

    def __init__(self, app: Flask, keep: int):
        self.app, self.keep = app, keep
        self._touched: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._background = BackgroundThread(self._run, "inspector-retention")

    def touch(self, endpoint_id: int) -> None:
        """Capture calls this after each commit; cheap, never blocks on the database."""
        if self.keep <= 0:
            return
        with self._lock:
            self._touched.add(endpoint_id)
        self._background.ensure()

    def stop(self) -> None:
        """Forget pending work and prune nothing more (tests, shutdown)."""
        with self._lock:
            self.keep = 0
            self._touched.clear()

    def run_once(self) -> int:
        """Prune every endpoint touched since the last run; returns rows removed."""
        with self._lock:
            touched, self._touched = self._touched, set()
        removed = 0
        store = capture_store(self.app)
        with self.app.app_context():
            for endpoint_id in sorted(touched):
                removed += prune_endpoint(endpoint_id, self.keep, store)
            db.session.remove()
        return removed

    def _run(self) -> None:
        """Background loop; an error is logged and the next round tries again."""
        while True:
            self._wake.wait(INTERVAL_SECONDS)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - pruning must never stop for good
                log.exception("retention pruning failed; retrying")


def pruner(app: Flask) -> Pruner:
    """This process's pruner."""
    return app.extensions["inspector.pruner"]


def init_app(app: Flask) -> None:
    """Attach a pruner configured from INSPECTOR_MAX_REQUESTS."""
    app.extensions["inspector.pruner"] = Pruner(app, app.config.get("MAX_REQUESTS", 0))
