"""Headers as they came off the wire.

WSGI's environ merges repeated headers and loses their order, so under
gunicorn a `pre_request` hook hands us the parsed header list for the
request this thread is about to serve. Other servers (the test client, the
development server) fall back to rebuilding the list from the environ.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

_current = threading.local()


def remember(raw_headers: list[tuple[str, str]]) -> None:
    """Called by gunicorn's pre_request hook, in the thread that runs the view."""
    _current.headers = raw_headers


def _from_environ(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Best effort when no server hook ran: environ order, repeats already merged."""
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            pairs.append((key.replace("_", "-").lower(), value))
    return pairs


def request_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The request's headers in arrival order, names lower-cased (as HTTP/2 sends them)."""
    raw = getattr(_current, "headers", None)
    _current.headers = None
    if raw is None:
        return _from_environ(environ)
    return [(name.lower(), value) for name, value in raw]
