"""The capture URL: `ANY /hooks/<token>[/<sub/path>]` stores whatever arrives.

Capture is the hot path, so it is served by a plain WSGI layer in front of
Flask rather than by a view: a webhook needs no request context, session,
routing, dashboard guards or page headers, and those cost a quarter of the
CPU of each capture. Everything else falls through to the Flask app.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Callable, Iterable, NamedTuple
from urllib.parse import quote

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

from . import autoforward, retention, writer
from .capture import Arrival, record, rejected_record
from .capture_settings import Settings
from .wire import request_headers

log = logging.getLogger(__name__)

PREFIX = "/hooks/"
BODILESS = (204, 304)  # statuses an endpoint may answer with that carry no body
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]{1,128}")
READ_CHUNK = 64 * 1024
# Each retry follows a change of the endpoint's settings between reading them and
# the commit; three in a row would take a burst of edits in that millisecond.
SETTINGS_RETRIES = 3


class BodyProblem(NamedTuple):
    """Why a body was not received whole: the row is kept as rejected, the sender gets a 4xx."""

    reason: str  # too_large | truncated | unreadable
    size: int
    status: int
    message: str


class Answer(NamedTuple):
    """What the sender is told."""

    status: int
    body: bytes
    request_id: int | None = None


def capture_token(path_info: str) -> str | None:
    """The token of a capture URL's path ("" for one no endpoint can have), or None
    when the path is not a capture URL."""
    if not path_info.startswith(PREFIX):
        return None
    token = path_info[len(PREFIX):].split("/", 1)[0]
    if not token:
        return None
    # Tokens are URL-safe base64: anything else (a NUL, say) is not worth a query.
    return token if TOKEN_CHARS.fullmatch(token) else ""


def sub_path(environ: dict) -> str:
    """The path below the token as sent (still percent-encoded), so it is stored exactly."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        parts = raw.split("?", 1)[0].split("/", 3)  # ["", "hooks", token, rest]
        if len(parts) >= 3 and parts[1] == "hooks":
            return "/" + (parts[3] if len(parts) == 4 else "")
    below = environ.get("PATH_INFO", "")[len(PREFIX):].partition("/")[2]
    # PATH_INFO is latin-1 decoded bytes; quote them back as they most likely came.
    return "/" + quote(below.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~")


def read_body(environ: dict, limit: int) -> tuple[bytes, BodyProblem | None]:
    """Read the whole body, or say why not (over the limit, cut short, malformed)."""
    declared = get_content_length(environ)
    if declared is not None and declared > limit:
        return b"", BodyProblem("too_large", declared, 413, _too_large(limit))
    stream = get_input_stream(environ, max_content_length=None)
    chunks, total = [], 0
    try:
        while chunk := stream.read(READ_CHUNK):
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


def _json(**fields) -> bytes:
    """The bytes Flask's jsonify makes for these fields (compact, sorted keys)."""
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).encode() + b"\n"


_NO_ENDPOINT = Answer(404, _json(error="No endpoint has this capture URL."))


class CaptureApp:
    """WSGI middleware: serves capture URLs itself and hands every other path to Flask."""

    def __init__(self, app: Flask, inner: Callable):
        self.app = app
        self.inner = inner

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        token = capture_token(environ.get("PATH_INFO", ""))
        if token is None:
            return self.inner(environ, start_response)
        try:
            answer = self.capture(environ, token)
        except Exception:  # noqa: BLE001 - a sender gets JSON, never a bare 500 page
            log.exception("capture failed on %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO"))
            answer = Answer(500, _json(error="Internal error; the server log has the details."))
        headers = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]
        if answer.status not in BODILESS:
            headers.append(("Content-Length", str(len(answer.body))))
        if answer.request_id is not None:
            headers.append(("X-Inspector-Request-Id", str(answer.request_id)))
        reason = HTTP_STATUS_CODES.get(answer.status, "UNKNOWN")
        start_response(f"{answer.status} {reason}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]

    def capture(self, environ: dict, token: str) -> Answer:
        """Store the request byte-exact, check its signature, answer as configured."""
        settings = self._settings(token)
        if settings is None:
            request_headers(environ)  # forget this request's raw headers
            return _NO_ENDPOINT
        body, problem = read_body(environ, self.app.config["MAX_BODY_BYTES"])
        arrival = Arrival(
            method=environ.get("REQUEST_METHOD", ""),
            path=sub_path(environ),
            query=environ.get("QUERY_STRING", ""),
            headers=request_headers(environ),
            body=body,
            content_type=environ.get("CONTENT_TYPE", ""),
            remote_addr=environ.get("REMOTE_ADDR") or "",
        )
        for _ in range(SETTINGS_RETRIES):
            try:
                return self._record(arrival, settings, problem)
            except writer.EndpointChanged:
                settings = self._settings(token, fresh=True)
                if settings is None:  # deleted while the request was arriving
                    return _NO_ENDPOINT
        raise RuntimeError(f"the endpoint's settings changed {SETTINGS_RETRIES} times "
                           "while one request was being stored")

    def _settings(self, token: str, fresh: bool = False) -> Settings | None:
        """The endpoint's capture settings, None for a token no endpoint has."""
        return writer.capture_store(self.app).settings.get(token, fresh) if token else None

    def _record(self, arrival: Arrival, settings: Settings,
                problem: BodyProblem | None) -> Answer:
        """Verify and store the request under these settings; the sender's answer."""
        if problem is not None:
            request_id = self._store(rejected_record(arrival, settings.endpoint, problem.size,
                                                     problem.reason), settings)
            return Answer(problem.status, _json(error=problem.message, id=request_id), request_id)
        request_id = self._store(record(arrival, settings.endpoint), settings)
        status = settings.response_status
        body = b"" if status in BODILESS else b'{"id":%d,"ok":true}\n' % request_id
        return Answer(status, body, request_id)

    def _store(self, values: dict, settings: Settings) -> int:
        """Commit the row (group-committed with concurrent captures); only then may the
        sender be told it was received."""
        request_id = writer.store(self.app, {**values, **settings.still_current()})
        retention.pruner(self.app).touch(values["endpoint_id"])
        if not self.app.testing:
            # The coordinator starts with the first request a process serves, and a
            # restarted server may see only webhooks for a while.
            autoforward.forwarder(self.app).ensure_running()
        return request_id


def init_app(app: Flask) -> None:
    """Put the capture layer in front of the app."""
    app.wsgi_app = CaptureApp(app, app.wsgi_app)
