"""Turn what arrived on a capture URL into the row we store (no Flask here)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

from .events import parse_event
from .signatures import Hint, SignatureCheck, verify_signature


@dataclass(frozen=True)
class Arrival:
    """The parts of an incoming request that we keep."""

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    content_type: str
    remote_addr: str


@dataclass(frozen=True)
class EndpointConfig:
    """What capture needs to know about the endpoint."""

    id: int
    secrets: Sequence[str]
    signature_header: str


def record(arrival: Arrival, endpoint: EndpointConfig) -> dict[str, Any]:
    """The column values for a stored request: checks, event fields and all."""
    check = check_signature(arrival, endpoint)
    event = parse_event(arrival.body, arrival.content_type)
    return {
        **_common(arrival, endpoint),
        "body": arrival.body,
        "size": len(arrival.body),
        "body_sha256": hashlib.sha256(arrival.body).hexdigest(),
        "rejected": None,
        "event_id": _clip(event.id) if event else None,
        "event_type": _clip(event.type) if event else None,
        "event_known": bool(event and event.known),
        "resource_type": _clip(event.resource_type) if event else None,
        "resource_id": _clip(event.resource_id) if event else None,
        "signature_status": check.status,
        "signature": check.to_dict(),
    }


def rejected_record(arrival: Arrival, endpoint: EndpointConfig, size: int,
                    reason: str = "too_large") -> dict[str, Any]:
    """A request whose body was not received whole: listed, with what did arrive,
    so the user sees it came."""
    check = check_signature(arrival, endpoint, rejected=(reason, size))
    return {
        **_common(arrival, endpoint),
        "body": arrival.body,
        "size": size,
        "body_sha256": hashlib.sha256(arrival.body).hexdigest() if arrival.body else "",
        "rejected": reason,
        "event_id": None, "event_type": None, "event_known": False,
        "resource_type": None, "resource_id": None,
        "signature_status": check.status,
        "signature": check.to_dict(),
    }


REJECTION_WORDS = {
    "too_large": "was over the size limit and was not stored",
    "truncated": "ended before the length its sender announced",
    "unreadable": "was malformed (bad chunked encoding) and could not be read",
}


def check_signature(arrival: Arrival, endpoint: EndpointConfig,
                    rejected: tuple[str, int] | None = None) -> SignatureCheck:
    """Verify the signature; for a body not received whole say it could not be checked."""
    check = verify_signature(arrival.body, arrival.headers, endpoint.secrets,
                             endpoint.signature_header)
    if rejected is not None and check.status == "invalid":
        # We do not have the bytes that were signed, so "does not match" would be a guess.
        reason, size = rejected
        words = REJECTION_WORDS.get(reason, "was not received whole")
        check = SignatureCheck("invalid", check.header, (Hint(
            "body_rejected",
            f"The body ({size} bytes) {words}, so its signature could not be checked."),))
    return check


def _common(arrival: Arrival, endpoint: EndpointConfig) -> dict[str, Any]:
    """Fields every stored request has, rejected or not."""
    return {
        "endpoint_id": endpoint.id,
        "method": arrival.method[:32],
        "path": arrival.path or "/",
        "query": arrival.query,
        "headers": [[name, value] for name, value in arrival.headers],
        "content_type": arrival.content_type,
        "remote_addr": arrival.remote_addr[:64],
    }


def _clip(value: str | None, limit: int = 200) -> str | None:
    """Event fields are indexed text columns: a hostile 1 MB id, a NUL or a lone
    surrogate (valid in JSON, not in UTF-8 or PostgreSQL text) must not break the insert."""
    if value is None:
        return None
    value = value[:limit].replace("\x00", "\ufffd")
    return value.encode("utf-8", "replace").decode("utf-8")
