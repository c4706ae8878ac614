"""Absolute URLs as the outside world reaches the inspector."""
from __future__ import annotations

from flask import current_app, request


def base_url() -> str:
    """INSPECTOR_PUBLIC_URL when set (tunnels, proxies), else the host this request came to."""
    configured = current_app.config.get("PUBLIC_URL") or ""
    return (configured or request.host_url).rstrip("/")
