"""The JSON shapes of CONTRACT.md, built from stored rows."""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Iterable

from .models import CapturedRequest, Endpoint, Resend


def iso(moment: datetime | None) -> str | None:
    """UTC timestamp with microseconds and a Z."""
    if moment is None:
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def endpoint(ep: Endpoint, base_url: str) -> dict[str, Any]:
    """An endpoint; its secret only as a hint of the last 4 characters."""
    base_url = base_url.rstrip("/")
    return {
        "token": ep.token,
        "name": ep.name,
        "capture_url": f"{base_url}/hooks/{ep.token}",
        "dashboard_url": f"{base_url}/endpoints/{ep.token}",
        "signature_header": ep.signature_header,
        "has_secret": bool(ep.secrets),
        "secret_hint": ep.secret_hint,
        "secret_count": len(ep.secrets or ()),
        "forward_url": ep.forward_url,
        "auto_forward": ep.auto_forward,
        "response_status": ep.response_status,
        "created_at": iso(ep.created_at),
    }


def event(row: CapturedRequest) -> dict[str, Any] | None:
    """The event a JSON body announced, or None."""
    if row.event_type is None and row.event_id is None:
        return None
    return {
        "id": row.event_id,
        "type": row.event_type,
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "known": row.event_known,
    }


def summary(row: CapturedRequest) -> dict[str, Any]:
    """A list row and a live-stream event: everything but headers and body."""
    return {
        "id": row.id,
        "received_at": iso(row.received_at),
        "method": row.method,
        "path": row.path,
        "query": row.query,
        "content_type": row.content_type,
        "size": row.size,
        "body_sha256": row.body_sha256,
        "remote_addr": row.remote_addr,
        "rejected": row.rejected,
        "event": event(row),
        "signature": row.signature,
        "duplicate_of": row.duplicate_of,
    }


def body_text(body: bytes) -> str | None:
    """The body as text when it is UTF-8, else None."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def resend(attempt: Resend, response_limit: int | None = None) -> dict[str, Any]:
    """One resend attempt and what the target answered; `response_limit` is the
    INSPECTOR_FORWARD_MAX_RESPONSE_BYTES cap the answer was read under, when known."""
    limit = {} if response_limit is None else {"response_limit": response_limit}
    return {
        "id": attempt.id,
        "request_id": attempt.request_id,
        "created_at": iso(attempt.created_at),
        "url": attempt.url,
        "method": attempt.method,
        "trigger": attempt.trigger,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "response_headers": attempt.response_headers,
        "response_body": body_text(attempt.response_body),
        "response_body_base64": base64.b64encode(attempt.response_body).decode("ascii"),
        "response_truncated": attempt.response_truncated,
        "body_sha256": attempt.body_sha256,
        "resigned": attempt.resigned,
        "edited": attempt.edited,
        **limit,
    }


def detail(row: CapturedRequest, resends: Iterable[Resend] = (),
           response_limit: int | None = None) -> dict[str, Any]:
    """Everything about one request, body included (as text when UTF-8, always as base64)."""
    return {
        **summary(row),
        "headers": row.headers,
        "body_text": body_text(row.body),
        "body_base64": base64.b64encode(row.body).decode("ascii"),
        "resends": [resend(r, response_limit) for r in resends],
    }
