"""Wake up when a file in a directory is written: Linux inotify, through ctypes.

Live streams on SQLite learn of rows committed by other processes from the
database's commit counter. Polling it every few milliseconds added half a
poll to every cross-process delivery and cost CPU while nothing happened;
every commit writes the WAL file, so waiting for that write wakes the
watcher at once and leaves it asleep otherwise.
"""
from __future__ import annotations

import ctypes
import os
import select
from typing import Optional

# <sys/inotify.h>: a write to a file, or a file (the WAL) appearing in the directory.
IN_MODIFY, IN_CREATE, IN_MOVED_TO = 0x2, 0x100, 0x80
READ_SIZE = 64 * 1024


class DirectoryChanges:
    """An inotify watch on one directory; `wait` returns early when a file in it is written."""

    def __init__(self, fd: int):
        self._fd = fd

    def wait(self, timeout: float) -> bool:
        """Block until something was written or `timeout` passed; True if written.
        Everything pending is read, so a burst of writes is one wake-up."""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        try:
            while os.read(self._fd, READ_SIZE):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        """Drop the watch."""
        os.close(self._fd)


def watch(directory: str) -> Optional[DirectoryChanges]:
    """Watch a directory, or None where inotify is not available (not Linux, a file
    system without it, no watches left): the caller polls instead."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    if libc.inotify_add_watch(fd, os.fsencode(directory), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0:
        os.close(fd)
        return None
    return DirectoryChanges(fd)
