"""How many requests each endpoint holds, read without counting its rows.

SQLite: triggers keep one counter row per endpoint (migration 9a3c5e7b1d20).
PostgreSQL: triggers append a change row per statement and endpoint (migration
b3e1d7a9c2f4), so concurrent writers never wait on a shared counter; the count
is the sum of an endpoint's changes. Each process folds them into one row per
endpoint after every FOLD_EVERY rows it captures, so that sum stays a read of a
table of a few thousand rows at most, however large the history.
"""
from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

log = logging.getLogger(__name__)

# Outside the models' metadata: each backend has only its own.
endpoint_counts = sa.table("endpoint_counts", sa.column("endpoint_id", sa.Integer),
                           sa.column("requests", sa.Integer))
count_changes = sa.table("request_count_changes", sa.column("endpoint_id", sa.Integer),
                         sa.column("requests", sa.BigInteger))

# One statement: it deletes the changes its snapshot sees and inserts their sums.
# Changes appended meanwhile stay for the next fold. A fold running at the same time
# in another process waits on the rows this one deletes, then skips them.
FOLD = sa.text(
    "WITH gone AS (DELETE FROM request_count_changes RETURNING endpoint_id, requests)"
    " INSERT INTO request_count_changes (endpoint_id, requests)"
    " SELECT endpoint_id, sum(requests) FROM gone GROUP BY endpoint_id"
    " HAVING sum(requests) <> 0")
# Deleted changes are dead rows until a vacuum; where autovacuum is off they would
# pile up and every read of the sums would walk them.
VACUUM = sa.text("VACUUM (SKIP_LOCKED) request_count_changes")


def counts(sqlite: bool) -> sa.Subquery:
    """(endpoint_id, requests) of every endpoint that has requests counted."""
    if sqlite:
        return sa.select(endpoint_counts.c.endpoint_id, endpoint_counts.c.requests).subquery()
    total = sa.cast(sa.func.sum(count_changes.c.requests), sa.BigInteger)
    return (sa.select(count_changes.c.endpoint_id, total.label("requests"))
            .group_by(count_changes.c.endpoint_id).subquery())


def fold(engine: sa.Engine) -> None:
    """Replace PostgreSQL's change rows by one sum per endpoint, then vacuum them."""
    with engine.connect() as conn:
        conn.execute(FOLD)
        conn.commit()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(VACUUM)


class Folder:
    """Folds the change rows after every FOLD_EVERY rows this process captures, in a
    thread of its own so no capture waits for it."""

    FOLD_EVERY = 2000

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._rows = 0
        self.thread: threading.Thread | None = None

    def written(self, count: int) -> None:
        """Count committed rows; called by the one group-commit leader at a time."""
        self._rows += count
        if self._rows < self.FOLD_EVERY or (self.thread is not None and self.thread.is_alive()):
            return
        self._rows = 0
        self.thread = threading.Thread(target=self.run, daemon=True, name="inspector-count-fold")
        self.thread.start()

    def run(self) -> None:
        try:
            fold(self.engine)
        except Exception:  # noqa: BLE001 - the sums stay right, only longer to read
            log.warning("could not fold request_count_changes", exc_info=True)
