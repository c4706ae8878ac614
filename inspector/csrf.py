"""Cross-site request protection for the dashboard and the JSON API.

* Dashboard writes carry a per-session token (form field `csrf_token`, or the
  `X-CSRF-Token` header that static/app.js adds to every htmx request).
* JSON API writes must say `Content-Type: application/json`, which a page on
  another site cannot send without a CORS preflight we never answer. Scripts
  authenticated with `Authorization: Bearer` are not browsers and skip both.
* Any write whose `Origin` names another site is refused outright.

Capture URLs are exempt: they exist to receive requests from anywhere.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, request, session

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"


def csrf_token() -> str:
    """This session's token, created on first use."""
    token = session.get(FIELD)
    if not token:
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def _foreign_origin() -> bool:
    """True when the browser says the request was not made by our own pages."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")  # older browsers send it on cross-site posts
    if not origin or origin == "null":
        return False
    public = urlsplit(current_app.config.get("PUBLIC_URL") or "").netloc.lower()
    return urlsplit(origin).netloc.lower() not in (request.host.lower(), public)


def _refuse(message: str):
    """403 in the shape the caller understands."""
    if request.path.startswith("/api/"):
        return jsonify(error=message), 403
    return message, 403, {"Content-Type": "text/plain; charset=utf-8"}


def _check():
    """before_request: refuse cross-site writes."""
    if request.method not in UNSAFE or request.path.startswith("/hooks/"):
        return None
    if request.routing_exception is not None:
        return None  # no such route or method: let the 404/405 answer say so
    if request.headers.get("Authorization", "")[:7].lower() == "bearer ":
        return None  # a script with the password, not a browser carrying cookies
    if _foreign_origin():
        return _refuse("Cross-site request refused.")
    if request.path.startswith("/api/"):
        if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
            return _refuse("JSON API writes need 'Content-Type: application/json'.")
        return None
    sent = request.headers.get(HEADER) or request.form.get(FIELD) or ""
    expected = session.get(FIELD) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _refuse("This form has expired or did not come from this inspector; "
                       "reload the page and try again.")
    return None


def init_app(app: Flask) -> None:
    """Install the check and make `csrf_token()` available to templates."""
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
