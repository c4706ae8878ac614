"""Response headers that keep the dashboard safe to open on hostile data."""
from __future__ import annotations

from flask import Flask, Response, request

# No inline script or style anywhere: static/app.js does all the page's work,
# so even a missed escape could not run code.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def add_headers(response: Response) -> Response:
    """after_request: nosniff everywhere; the page policies on everything but capture."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith("/hooks/"):
        return response  # answers to webhook senders, not pages
    # Capture tokens are in our URLs: never hand them to another site as a Referer.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def init_app(app: Flask) -> None:
    """Install the after_request hook."""
    app.after_request(add_headers)
