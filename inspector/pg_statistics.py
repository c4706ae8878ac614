"""Planner statistics for the captured-requests table on PostgreSQL.

Capture's INSERT is a prepared statement, and after a few runs PostgreSQL keeps
one generic plan for it per connection. A plan made while the table is new and
has no statistics is a coin toss between indexes: its duplicate lookup
(`min(id) … WHERE endpoint_id = ? AND event_id = ?`) may walk the endpoint's
rows on the list index instead of probing `(endpoint_id, event_id, id)`,
and that plan is kept until statistics arrive. Autovacuum's first ANALYZE
brings them within a minute, but never where autovacuum is off, and a restored
dump has none either. So each process, once it has written its first rows,
looks for the table's statistics and runs ANALYZE if there are none; that
also makes every connection plan its statements again.
"""
from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

log = logging.getLogger(__name__)

HAS_STATISTICS = sa.text(
    "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema()"
    " AND tablename = 'captured_requests' AND attname = 'event_id')")


class StatisticsCheck:
    """After this process's first ROWS captures, ANALYZE the table if it has no
    statistics yet; once per process, in a thread of its own (ANALYZE reads a
    sample of up to 30,000 rows, which on a restored history takes a while)."""

    ROWS = 1000

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._rows = 0
        self.thread: threading.Thread | None = None

    def written(self, count: int) -> None:
        """Count committed rows; called by the one group-commit leader at a time."""
        if self.thread is not None:
            return
        self._rows += count
        if self._rows >= self.ROWS:
            self.thread = threading.Thread(target=self.run, daemon=True,
                                           name="inspector-pg-statistics")
            self.thread.start()

    def run(self) -> bool:
        """Analyze the table if it has no statistics; True if it did."""
        try:
            with self.engine.connect() as conn:
                if conn.execute(HAS_STATISTICS).scalar():
                    return False
                conn.execute(sa.text("ANALYZE captured_requests"))
                conn.commit()
                return True
        except Exception:  # noqa: BLE001 - plans stay as they are; capture goes on
            log.warning("could not analyze captured_requests", exc_info=True)
            return False
