"""The HTML dashboard: its blueprints, error pages and template filters."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, make_response, render_template
from werkzeug.exceptions import HTTPException

from . import endpoint_pages, request_pages, stream_views
from .endpoint_input import InputError
from .page_support import wants_fragment
from .queries import QueryError
from .render import has_invisible, header_text, human_size, relative_time, reveal_invisible, utc_iso

bp = Blueprint("dashboard", __name__)
bp.register_blueprint(endpoint_pages.bp)
bp.register_blueprint(request_pages.bp)
bp.register_blueprint(stream_views.bp)


def error_page(status: int, message: str):
    """The error as a page, or as a fragment when htmx swaps it into a pane or form."""
    template = "_error.html" if wants_fragment() else "error.html"
    response = make_response(render_template(template, status=status, message=message), status)
    response.vary.add("HX-Request")
    return response


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """404s and friends as a readable page."""
    return error_page(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(QueryError)
@bp.errorhandler(InputError)
def bad_input(exc: ValueError):
    """A filter or id in the URL that makes no sense is the caller's mistake: 400."""
    return error_page(400, str(exc))


@bp.app_template_filter("utc_iso")
def _utc_iso(moment: datetime | None) -> str:
    """ISO 8601 UTC for a datetime attribute or title."""
    return utc_iso(moment) if moment else ""


@bp.app_template_filter("clock")
def _clock(moment: datetime | None) -> str:
    """Time of day in UTC, what a list row needs: 14:03:22."""
    return moment.astimezone(timezone.utc).strftime("%H:%M:%S") if moment else ""


@bp.app_template_filter("ago")
def _ago(moment: datetime | None) -> str:
    """"3 min ago" as of this render; app.js keeps it fresh."""
    return relative_time(moment, datetime.now(timezone.utc)) if moment else ""


@bp.app_template_filter("human_size")
def _human_size(size: int | None) -> str:
    """812 B, 4.2 KB."""
    return human_size(size or 0)


@bp.app_template_filter("header_text")
def _header_text(value: str) -> str:
    """A stored header value as the sender meant it (UTF-8 where it decodes)."""
    return header_text(value)


# Captured text is shown through reveal_invisible, so bidi and invisible characters are
# labelled (still autoescaped); has_invisible decides the detail pane's note.
bp.add_app_template_filter(reveal_invisible, "reveal_invisible")
bp.add_app_template_filter(has_invisible, "has_invisible")
