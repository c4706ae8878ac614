"""The capture URL: `ANY /hooks/<token>[/<sub/path>]` stores whatever arrives."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, jsonify, request
from werkzeug.routing import Rule

from . import live
from .capture import Arrival, EndpointConfig, record, rejected_record
from .models import CapturedRequest, Endpoint, db
from .wire import request_headers

READ_CHUNK = 64 * 1024


def _read_body(limit: int) -> tuple[bytes, int | None]:
    """Read the body; past `limit` stop and return (b"", bytes seen) instead."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return b"", declared
    chunks, total = [], 0
    stream = request.stream
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks), None
        total += len(chunk)
        if total > limit:
            return b"", total
        chunks.append(chunk)


def _endpoint_config(token: str) -> tuple[EndpointConfig, int] | None:
    """Look the token up with a plain query: the capture path skips the ORM identity map."""
    row = db.session.execute(
        sa.select(Endpoint.id, Endpoint.secrets, Endpoint.signature_header,
                  Endpoint.response_status)
        .where(Endpoint.token == token)).first()
    if row is None:
        return None
    return EndpointConfig(row.id, tuple(row.secrets or ()), row.signature_header), row.response_status


def _store(values: dict) -> int:
    """Insert and commit; only then may the sender be told it was received."""
    if values["event_id"]:
        values["duplicate_of"] = db.session.scalar(
            sa.select(sa.func.min(CapturedRequest.id)).where(
                CapturedRequest.endpoint_id == values["endpoint_id"],
                CapturedRequest.event_id == values["event_id"]))
    result = db.session.execute(sa.insert(CapturedRequest).values(**values))
    request_id = result.inserted_primary_key[0]
    live.notify_in_transaction(values["endpoint_id"])
    db.session.commit()
    live.hub(current_app).notify()
    return request_id


def capture(token: str, subpath: str = ""):
    """Store the request byte-exact, check its signature, answer as configured."""
    found = _endpoint_config(token)
    if found is None:
        return jsonify(error="No endpoint has this capture URL."), 404
    endpoint, status = found
    limit = current_app.config["MAX_BODY_BYTES"]
    body, too_large = _read_body(limit)
    arrival = Arrival(
        method=request.method,
        path="/" + subpath,
        query=request.query_string.decode("latin-1"),
        headers=request_headers(request.environ),
        body=body,
        content_type=request.headers.get("Content-Type", ""),
        remote_addr=request.remote_addr or "",
    )
    if too_large is not None:
        request_id = _store(rejected_record(arrival, endpoint, too_large))
        response = jsonify(error=f"Body too large: the limit is {limit} bytes.", id=request_id)
        response.status_code = 413
    else:
        request_id = _store(record(arrival, endpoint))
        response = jsonify(ok=True, id=request_id)
        response.status_code = status
        if status == 204 or status < 200:
            response.set_data(b"")
    response.headers["X-Inspector-Request-Id"] = str(request_id)
    return response


def init_app(app: Flask) -> None:
    """Register the capture rules for every method, including ones Flask does not list."""
    # A Rule without `methods` matches any method (HEAD, OPTIONS, PURGE, ...),
    # which Flask's add_url_rule would narrow to GET.
    app.url_map.add(Rule("/hooks/<token>", endpoint="capture", strict_slashes=False))
    app.url_map.add(Rule("/hooks/<token>/<path:subpath>", endpoint="capture"))
    app.view_functions["capture"] = capture
