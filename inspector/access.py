"""Who may use the dashboard and the API: allowed hosts and the optional password.

Capture URLs are capabilities and stay open to any host and any sender;
everything else is the owner's and is guarded here.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, jsonify, redirect, render_template, request,
                   session, url_for)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
OPEN_PREFIXES = ("/hooks/", "/static/")
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_SECONDS = 60.0

bp = Blueprint("access", __name__)


def host_name(host_header: str) -> str:
    """The name part of a Host header, lower-cased, without port or IPv6 brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(config: Mapping) -> frozenset[str]:
    """Loopback names, the public URL's host and the configured extra names."""
    names = set(LOOPBACK_NAMES)
    public = urlsplit(config.get("PUBLIC_URL") or "").hostname
    if public:
        names.add(public.lower())
    names.update(h.strip().lower() for h in config.get("ALLOWED_HOSTS", ()) if h.strip())
    return frozenset(names)


def host_allowed(host_header: str, allowed: Iterable[str]) -> bool:
    """Whether a dashboard/API request's Host is ours (DNS rebinding defence)."""
    allowed = set(allowed)
    return "*" in allowed or host_name(host_header) in allowed


def is_loopback_bind(host: str) -> bool:
    """Whether a listen address only accepts connections from this machine."""
    return host in LOOPBACK_NAMES or host.startswith("127.")


class RateLimiter:
    """At most `limit` events per key in a sliding window (per process)."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record an attempt; False when the key is over its limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True


def _password_marker(password: str) -> str:
    """What the session keeps: a digest, so changing the password logs everyone out."""
    return hashlib.sha256(b"inspector-login:" + password.encode()).hexdigest()


def _authenticated(password: str) -> bool:
    """A logged-in session cookie, or the password as a Bearer token."""
    if hmac.compare_digest(session.get("auth", ""), _password_marker(password)):
        return True
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return bearer_matches(header[7:], password)
    return False


def bearer_matches(token: str, password: str) -> bool:
    """Whether a Bearer token is the password, compared as bytes in constant time.

    WSGI hands header values over as Latin-1-decoded text; re-encoding gives the bytes
    on the wire, which a client sends as the password's UTF-8.
    """
    try:
        given = token.encode("latin-1")
    except UnicodeEncodeError:  # not from the wire: no byte sequence decodes to this
        return False
    return hmac.compare_digest(given.strip(), password.encode())


def _guard():
    """before_request: refuse foreign hosts, then ask for the password if one is set."""
    path = request.path
    if path.startswith(OPEN_PREFIXES) or path == "/favicon.ico":
        return None
    if not host_allowed(request.host, current_app.extensions["inspector.allowed_hosts"]):
        message = (f"Host {host_name(request.host)!r} is not allowed; add it to "
                   "INSPECTOR_ALLOWED_HOSTS to use the dashboard under that name.")
        if path.startswith("/api/"):
            return jsonify(error=message), 400
        return message, 400, {"Content-Type": "text/plain; charset=utf-8"}
    password = current_app.config.get("PASSWORD") or ""
    if not password or path in ("/login", "/logout") or _authenticated(password):
        return None
    if path.startswith("/api/"):
        return jsonify(error="Authentication required: log in, or send "
                             "'Authorization: Bearer <INSPECTOR_PASSWORD>'."), 401
    return redirect(url_for("access.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only redirect back to a path of ours, never to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The password form; attempts are rate limited per client address."""
    password = current_app.config.get("PASSWORD") or ""
    next_url = _safe_next(request.values.get("next"))
    if not password:
        return redirect(next_url)
    error = None
    if request.method == "POST":
        limiter: RateLimiter = current_app.extensions["inspector.login_limiter"]
        if not limiter.allow(request.remote_addr or "?"):
            return render_template("login.html", next=next_url,
                                   error="Too many attempts; wait a minute."), 429
        given = request.form.get("password", "")
        if hmac.compare_digest(given.encode(), password.encode()):
            session.clear()
            session["auth"] = _password_marker(password)
            session.permanent = True
            return redirect(next_url)
        error = "Wrong password."
    return render_template("login.html", next=next_url, error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    """Forget the session."""
    session.clear()
    return redirect(url_for("access.login"))


def init_app(app: Flask) -> None:
    """Install the guard and the login views."""
    app.extensions["inspector.allowed_hosts"] = allowed_hosts(app.config)
    app.extensions["inspector.login_limiter"] = RateLimiter(LOGIN_ATTEMPTS, LOGIN_WINDOW_SECONDS)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.before_request(_guard)
    app.register_blueprint(bp)

    @app.context_processor
    def exposure():
        """Pages warn when the server listens beyond this machine without a password."""
        exposed = not is_loopback_bind(app.config.get("HOST", "127.0.0.1"))
        return {"exposed_without_password": exposed and not app.config.get("PASSWORD"),
                "login_required": bool(app.config.get("PASSWORD"))}
