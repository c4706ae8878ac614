"""The JSON API of CONTRACT.md. Errors are always `{"error": ...}` with a 4xx."""
from __future__ import annotations

import json
import re

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request

from . import live, page_support, serialize
from .endpoint_input import InputError
from .models import CapturedRequest, Endpoint, Resend, db
from .queries import QueryError, RequestFilter, list_requests, parse_id, parse_limit
from .recheck import recheck_endpoint
from .urls import base_url

bp = Blueprint("api", __name__, url_prefix="/api")


def error(message: str, status: int = 400):
    """A JSON error answer."""
    return jsonify(error=message), status


@bp.errorhandler(InputError)
@bp.errorhandler(QueryError)
def _bad_input(exc):
    """Invalid parameters are the caller's mistake: 400 with the reason."""
    return error(str(exc), 400)


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    data = request.get_json(silent=True)
    if data is None:
        if request.get_data():
            raise InputError("The body is not valid JSON (send Content-Type: application/json).")
        data = {}
    if not isinstance(data, dict):
        raise InputError("Send a JSON object.")
    return data


def endpoint_or_404(token: str) -> Endpoint:
    """The endpoint with this token, or a JSON 404."""
    # Two on purpose: one lookup, but the API's text is terse; the dashboard's says what to do.
    return page_support.endpoint_or_404(token, "No endpoint with this token.")


def request_or_404(request_id: int) -> CapturedRequest:
    """The captured request with this id, or a JSON 404."""
    found = db.session.get(CapturedRequest, request_id)
    if found is None:
        abort(404, description=f"No request with id {request_id}.")
    return found


@bp.post("/endpoints")
def create_endpoint():
    """Create an endpoint: 201 with its capture URL."""
    ep = Endpoint(**page_support.endpoint_fields(json_body(), creating=True))
    db.session.add(ep)
    db.session.commit()
    return jsonify(serialize.endpoint(ep, base_url())), 201


@bp.get("/endpoints")
def list_endpoints():
    """All endpoints, newest first."""
    eps = db.session.scalars(sa.select(Endpoint).order_by(Endpoint.id.desc())).all()
    return jsonify(endpoints=[serialize.endpoint(ep, base_url()) for ep in eps])


@bp.get("/endpoints/<token>")
def get_endpoint(token: str):
    """One endpoint."""
    return jsonify(serialize.endpoint(endpoint_or_404(token), base_url()))


@bp.patch("/endpoints/<token>")
def update_endpoint(token: str):
    """Change an endpoint's settings; a new secret does not re-check old requests by itself."""
    ep = endpoint_or_404(token)
    for field, value in page_support.endpoint_fields(json_body(), creating=False,
                                                     current=ep).items():
        setattr(ep, field, value)
    db.session.commit()
    return jsonify(serialize.endpoint(ep, base_url()))


@bp.delete("/endpoints/<token>")
def delete_endpoint(token: str):
    """Delete an endpoint and everything captured on it."""
    ep = endpoint_or_404(token)
    _delete_requests(ep.id)
    db.session.delete(ep)
    db.session.commit()
    return "", 204


def _delete_requests(endpoint_id: int) -> int:
    """Delete an endpoint's requests and their resends; returns how many requests."""
    ids = sa.select(CapturedRequest.id).where(CapturedRequest.endpoint_id == endpoint_id)
    db.session.execute(sa.delete(Resend).where(Resend.request_id.in_(ids)))
    return db.session.execute(
        sa.delete(CapturedRequest).where(CapturedRequest.endpoint_id == endpoint_id)).rowcount


@bp.get("/endpoints/<token>/requests")
def endpoint_requests(token: str):
    """A page of requests, newest first, with the filters of the query string."""
    ep = endpoint_or_404(token)
    rows, next_before = list_requests(
        ep.id, RequestFilter.from_args(request.args),
        parse_id(request.args.get("before"), "before"), parse_limit(request.args.get("limit")))
    return jsonify(requests=[serialize.summary(r) for r in rows], next_before=next_before)


@bp.delete("/endpoints/<token>/requests")
def clear_requests(token: str):
    """Forget every request of the endpoint."""
    ep = endpoint_or_404(token)
    deleted = _delete_requests(ep.id)
    db.session.commit()
    return jsonify(deleted=deleted)


@bp.post("/endpoints/<token>/recheck")
def recheck(token: str):
    """Check every stored signature again with the endpoint's current secrets."""
    ep = endpoint_or_404(token)
    counts = recheck_endpoint(ep)
    return jsonify(rechecked=sum(counts.values()), statuses=counts)


@bp.get("/requests/<id:request_id>")
def get_request(request_id: int):
    """One request in full, with its resend attempts newest first."""
    row = request_or_404(request_id)
    resends = db.session.scalars(sa.select(Resend).where(Resend.request_id == row.id)
                                 .order_by(Resend.id.desc())).all()
    limit = current_app.config["FORWARD_MAX_RESPONSE_BYTES"]  # the cap each answer was read under
    return jsonify(serialize.detail(row, resends, limit))


@bp.get("/requests/<id:request_id>/body")
def get_body(request_id: int):
    """The raw body bytes, with the content type they came with (never rendered inline)."""
    row = request_or_404(request_id)
    response = Response(row.body, mimetype=None)
    response.headers["Content-Type"] = row.content_type or "application/octet-stream"
    # Captured data is hostile: never let a browser run it as a page of ours.
    response.headers["Content-Disposition"] = (
        f'attachment; filename="request-{row.id}{body_file_extension(row.content_type)}"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def body_file_extension(content_type: str) -> str:
    """A downloaded body's file extension, so the user's tools open it as what it is.
    Only types no browser runs: an HTML or SVG body stays .bin, as does anything else."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return ".json"
    if kind in ("application/xml", "text/xml"):
        return ".xml"
    if kind in ("text/plain", "text/csv", "application/x-www-form-urlencoded"):
        return ".csv" if kind == "text/csv" else ".txt"
    return ".bin"


# What an EventSource ends a line at: CRLF, a lone CR or a lone LF (captured text has all three).
SSE_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def sse_message(row_id: int, data: str, event: str | None = None) -> str:
    """One server-sent event; data lines split so no line break (CR included) can end it
    early or start a field of its own (`id:`, `event:`) from captured text."""
    lines = [f"id: {row_id}"]
    if event:
        lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in SSE_LINE_BREAK.split(data)]
    return "\n".join(lines) + "\n\n"


def last_event_id() -> int | None:
    """Where a reconnecting client left off: Last-Event-ID, or ?after= for scripts."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("after")
    return parse_id(raw, "Last-Event-ID")


@bp.get("/endpoints/<token>/events")
def events(token: str):
    """text/event-stream of request summaries; replays what a reconnecting client missed.

    Every event is a summary (CONTRACT.md), so the stream says nothing of a clear
    (later requests simply follow) and, when the endpoint is deleted or the login
    it was opened with no longer holds, just ends: a reconnect then gets 404 or 401."""
    ep = endpoint_or_404(token)
    cursor = live.cursor_after(ep.id, last_event_id())
    endpoint_id = ep.id
    db.session.remove()
    app = current_app._get_current_object()
    keepalive = app.config["STREAM_KEEPALIVE"]
    still_allowed = live.login_check(app)

    def stream():
        yield "retry: 1000\n\n"
        for item in live.follow(app, endpoint_id, cursor, keepalive=keepalive,
                                still_allowed=still_allowed):
            if item is None:
                yield ": keep-alive\n\n"
            elif not isinstance(item, (live.Cleared, live.Ended)):
                yield sse_message(item.id, json.dumps(serialize.summary(item)))

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
