"""SQLite's WAL under a steady stream of captures: the writers' lock and the checkpointer.

Capture writers of every process queue on an flock beside the database before
taking SQLite's own write lock (its busy handler sleeps in back-offs of up to
100 ms, an flock waiter is woken the moment the lock is free). The checkpointer
copies the WAL back into the database from a background thread and keeps the
WAL from growing without end.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from typing import Optional

import sqlalchemy as sa

from .background import BackgroundThread
from .storage import SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)


class WritersLock:
    """Queues the SQLite database's writers: capture commits, the checkpointer's
    restarts and retention's deletes take it before SQLite's own write lock.

    Other processes wait on an flock on a file beside the database; this
    process's threads wait on a threading lock first, because flock excludes
    open files, not threads: two threads sharing the descriptor would both pass.
    One per process (made after any fork), shared by all its threads.
    """

    def __init__(self, database: str):
        self._fd: Optional[int] = os.open(f"{database}-capture.lock",
                                          os.O_RDWR | os.O_CREAT, 0o600)
        self._threads = threading.Lock()

    def __enter__(self) -> "WritersLock":
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._fd is not None:  # not closed meanwhile (closing released it)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        """Release the descriptor (the store is closed)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Checkpointer:
    """Copies the SQLite WAL back into the database file from a background thread.

    Every ROWS captured rows, and a moment after the last capture, it runs a
    PASSIVE checkpoint: the copying happens beside the writers, holding nobody
    up. Under steady load new frames keep arriving, so SQLite never gets to
    start the WAL over by itself and the file would only grow (about 25 KB of
    WAL per captured row: each commit rewrites its index pages). Once the WAL
    in use passes RESTART_BYTES, a RESTART checkpoint with the capture writers
    held back on their lock lets the next commit write from the start of the
    file again. That pause (its fsyncs, mostly) is 5-20 ms under full load, so
    it is kept rare rather than frequent: one per RESTART_BYTES of WAL. Past
    TRUNCATE_BYTES on disk (a long reader kept restarts from succeeding) the
    file is truncated. The thread ends after a quiet minute; the next capture
    starts it again.
    """

    ROWS = 1000
    IDLE_SECONDS = 0.5
    QUIET_ROUNDS = 120
    RESTART_BYTES = 64 * 1024 * 1024
    TRUNCATE_BYTES = 4 * RESTART_BYTES
    RESTART_WAIT_MS = 50  # how long the restart waits for readers to leave the WAL

    def __init__(self, engine: sa.Engine, writers: Optional[WritersLock]):
        self._engine = engine
        self._writers = writers  # None: an in-memory database, no other writer to hold
        self._wal = f"{engine.url.database}-wal"
        self._rows = 0
        self._wake = threading.Event()
        self._background = BackgroundThread(self._run, "inspector-checkpoint")
        self._closed = False

    def written(self, rows: int) -> None:
        """`rows` rows were committed (captured, or deleted by retention)."""
        self._rows += rows
        self._background.ensure()
        if self._rows >= self.ROWS:
            self._wake.set()

    def _run(self) -> None:
        """Checkpoint while captures come; an error (a locked file) is retried later."""
        quiet, seen = 0, 0
        while quiet < self.QUIET_ROUNDS:
            woken = self._wake.wait(self.IDLE_SECONDS)
            self._wake.clear()
            if self._closed:
                return
            rows = self._rows
            if not rows:
                quiet += 1
                continue
            quiet = 0
            if not woken and rows != seen:
                seen = rows  # still capturing, and under ROWS: not yet
                continue
            self._rows, seen = 0, 0
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.warning("WAL checkpoint failed; will retry", exc_info=True)

    def checkpoint(self) -> None:
        """PASSIVE; then, if the WAL in use is long, RESTART between two capture commits."""
        conn = self._engine.raw_connection()
        try:
            _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            if self._writers is None or frames * page_size < self.RESTART_BYTES:
                return
            # Once more beside the writers: what is left for the pause is only
            # what arrived during the first pass.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            mode = "TRUNCATE" if self._wal_size() > self.TRUNCATE_BYTES else "RESTART"
            with self._writers:
                try:
                    conn.execute(f"PRAGMA busy_timeout={self.RESTART_WAIT_MS}")
                    conn.execute(f"PRAGMA wal_checkpoint({mode})")
                finally:
                    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            conn.close()

    def _wal_size(self) -> int:
        """Bytes in the WAL file (0 when there is none)."""
        try:
            return os.path.getsize(self._wal)
        except OSError:
            return 0

    def close(self) -> None:
        """Stop (the store is closed)."""
        self._closed = True
        self._wake.set()
