"""A daemon thread started on first use, and started again whenever it is found dead.

The retention pruner, the SQLite checkpointer, the auto-forward coordinator and
the live watcher each do their work in one background thread per process. It is
started lazily by the first call that needs it (not at import or app creation,
so a forked worker starts its own), and started again if it has ended: after a
fork the parent's threads are gone, and a loop may end on its own (the
checkpointer after a quiet minute).
"""
from __future__ import annotations

import threading
from typing import Callable, Optional


class BackgroundThread:
    """One named daemon thread running `target`, (re)started by `ensure`."""

    def __init__(self, target: Callable[[], None], name: str):
        self._target, self.name = target, name
        self._lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None

    def alive(self) -> bool:
        """The thread was started and has not ended."""
        return self.thread is not None and self.thread.is_alive()

    def ensure(self, before_start: Optional[Callable[[], None]] = None) -> None:
        """Start the thread unless it is running. `before_start` runs just before a
        start, under the lock (state the new thread needs, e.g. after a fork)."""
        if self.alive():
            return
        with self._lock:
            if self.alive():
                return
            if before_start is not None:
                before_start()
            self.thread = threading.Thread(target=self._target, daemon=True, name=self.name)
            self.thread.start()
