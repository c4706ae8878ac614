"""Everything the request detail pane shows, worked out from a stored request (no Flask)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional
from urllib.parse import parse_qsl

from .curl import curl_command, replay_url
from .events import event_timestamps, load_object
from .models import CapturedRequest
from .render import BodyView, body_view, from_unix

HINTLESS_STATUS_TEXT = {
    "valid": "The signature header holds exactly the HMAC-SHA256 of the body under your secret.",
    "invalid": "The signature header is there but does not match the body.",
    "missing": "The endpoint has a secret, but the request carries no signature header.",
    "unconfigured": "The endpoint has no secret yet, so nothing was checked. Set one in the "
                    "endpoint's settings; stored requests are checked again.",
}


@dataclass(frozen=True)
class EventTime:
    """A `*_at` field of the payload, as sent and as a date."""

    path: str
    raw: float
    moment: datetime


@dataclass(frozen=True)
class RequestDetail:
    """The derived parts of the detail pane."""

    body: BodyView
    curl: Optional[str]
    signature_values: list[str]
    status_text: str
    query_pairs: list[tuple[str, str]] = field(default_factory=list)
    timestamps: list[EventTime] = field(default_factory=list)


def signature_values(req: CapturedRequest, header: Optional[str]) -> list[str]:
    """The values the request had in the header the signature check read."""
    if not header:
        return []
    wanted = header.strip().lower()
    return [value for name, value in req.headers if name.strip().lower() == wanted]


def describe(req: CapturedRequest, capture_url: str, body_url: str,
             configured_header: str, password: bool = False) -> RequestDetail:
    """Work out what to show: body views, replay command, signature values, event dates."""
    envelope = load_object(req.body) if req.event_type or req.event_id else None
    header = (req.signature or {}).get("header") or configured_header
    curl = None if req.rejected else curl_command(
        req.method, replay_url(capture_url, req.path, req.query), req.headers, req.body, body_url,
        password)
    return RequestDetail(
        body=body_view(req.body),
        curl=curl,
        signature_values=signature_values(req, header),
        status_text=HINTLESS_STATUS_TEXT.get(req.signature_status, ""),
        query_pairs=parse_qsl(req.query, keep_blank_values=True),
        timestamps=[EventTime(path, raw, from_unix(raw))
                    for path, raw in event_timestamps(envelope)],
    )
