"""URLs: absolute ones as the outside world reaches the inspector, and ids in routes."""
from __future__ import annotations

from flask import current_app, request
from werkzeug.routing import IntegerConverter

from .models import MAX_ID


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id in a URL. A number too large to be one matches no route
    (a 404), where `<int:>` passed it on to overflow the database driver (a 500)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, max=MAX_ID, **kwargs)


def base_url() -> str:
    """INSPECTOR_PUBLIC_URL when set (tunnels, proxies), else the host this request came to."""
    configured = current_app.config.get("PUBLIC_URL") or ""
    return (configured or request.host_url).rstrip("/")
