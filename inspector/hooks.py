"""The capture URL: `ANY /hooks/<token>[/<sub/path>]` stores whatever arrives."""
from __future__ import annotations

import json
from typing import NamedTuple
from urllib.parse import quote

from flask import Flask, current_app, jsonify, request
from werkzeug.routing import PathConverter, Rule

from . import retention, writer
from .capture import Arrival, EndpointConfig, record, rejected_record
from .wire import request_headers

READ_CHUNK = 64 * 1024


class AnyPathConverter(PathConverter):
    """A sub-path that may hold any character: the standard one stops at a newline (%0A)."""

    regex = "(?s:.+)"
    part_isolating = False  # spans slashes (werkzeug infers True when the regex has no "/")


class BodyProblem(NamedTuple):
    """Why a body was not received whole: the row is kept as rejected, the sender gets a 4xx."""

    reason: str  # too_large | truncated | unreadable
    size: int
    status: int
    message: str


def _read_body(limit: int) -> tuple[bytes, BodyProblem | None]:
    """Read the whole body, or say why not (over the limit, cut short, malformed)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return b"", BodyProblem("too_large", declared, 413, _too_large(limit))
    chunks, total = [], 0
    try:
        while chunk := request.stream.read(READ_CHUNK):
            total += len(chunk)
            if total > limit:
                return b"", BodyProblem("too_large", total, 413, _too_large(limit))
            chunks.append(chunk)
    except Exception as exc:  # noqa: BLE001 - the server's parser refuses a malformed body
        return b"".join(chunks), BodyProblem(
            "unreadable", total, 400, f"The body could not be read: {exc or type(exc).__name__}.")
    body = b"".join(chunks)
    if declared is not None and len(body) < declared:
        # Under gunicorn the input is not length-limited by werkzeug, so a
        # sender that hangs up early must be caught here.
        return body, BodyProblem("truncated", len(body), 400,
                                 f"The body ended after {len(body)} of the {declared} bytes "
                                 "announced by Content-Length.")
    return body, None


def _too_large(limit: int) -> str:
    """The 413 message."""
    return f"Body too large: the limit is {limit} bytes (INSPECTOR_MAX_BODY_BYTES)."


def _sub_path(subpath: str) -> str:
    """The path below the token as sent (still percent-encoded), so it is stored exactly."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        parts = path.split("/", 3)  # ["", "hooks", token, rest]
        if len(parts) >= 3 and parts[1] == "hooks":
            return "/" + (parts[3] if len(parts) == 4 else "")
    return "/" + quote(subpath, safe="/:@!$&'()*+,;=-._~")


def _endpoint_config(token: str) -> tuple[EndpointConfig, int] | None:
    """Look the token up with one driver-level query: no ORM, no statement compiling."""
    row = writer.capture_store(current_app).endpoint(token)
    if row is None:
        return None
    endpoint_id, secrets, header, status = row
    secrets = json.loads(secrets) if secrets else ()
    return EndpointConfig(endpoint_id, tuple(secrets or ()), header), status


def _store(values: dict) -> int:
    """Commit the row (group-committed with concurrent captures); only then may the
    sender be told it was received."""
    app = current_app._get_current_object()
    request_id = writer.store(app, values)
    retention.pruner(app).touch(values["endpoint_id"])
    return request_id


def capture(token: str, subpath: str = ""):
    """Store the request byte-exact, check its signature, answer as configured."""
    found = _endpoint_config(token)
    if found is None:
        return jsonify(error="No endpoint has this capture URL."), 404
    endpoint, status = found
    body, problem = _read_body(current_app.config["MAX_BODY_BYTES"])
    arrival = Arrival(
        method=request.method,
        path=_sub_path(subpath),
        query=request.query_string.decode("latin-1"),
        headers=request_headers(request.environ),
        body=body,
        content_type=request.headers.get("Content-Type", ""),
        remote_addr=request.remote_addr or "",
    )
    if problem is not None:
        request_id = _store(rejected_record(arrival, endpoint, problem.size, problem.reason))
        response = jsonify(error=problem.message, id=request_id)
        response.status_code = problem.status
    else:
        request_id = _store(record(arrival, endpoint))
        # The bytes jsonify(ok=True, id=...) makes, without its per-call machinery.
        body = b"" if status == 204 or status < 200 else b'{"id":%d,"ok":true}\n' % request_id
        response = current_app.response_class(body, status=status, mimetype="application/json")
    response.headers["X-Inspector-Request-Id"] = str(request_id)
    return response


def init_app(app: Flask) -> None:
    """Register the capture rules for every method, including ones Flask does not list."""
    # A Rule without `methods` matches any method (HEAD, OPTIONS, PURGE, ...),
    # which Flask's add_url_rule would narrow to GET.
    app.url_map.add(Rule("/hooks/<token>", endpoint="capture", strict_slashes=False))
    app.url_map.converters["anypath"] = AnyPathConverter
    app.url_map.add(Rule("/hooks/<token>/<anypath:subpath>", endpoint="capture"))
    app.view_functions["capture"] = capture
