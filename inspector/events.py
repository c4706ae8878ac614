"""The Protocol event catalogue and parsing of captured webhook envelopes.

Protocol (and its white-label copies) POST ``{"id", "type", "payload"}``
where ``type`` is ``<resource>.<action>``. Captured bodies are hostile, so
everything here accepts any bytes and never raises.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

RESOURCE_TYPES = ("contact", "conversation", "message", "group", "attachment")
ACTIONS = ("created", "updated", "deleted")

# Timestamp keys the seeds use; event_timestamps accepts any key ending "_at".
TIMESTAMP_KEYS = ("created_at", "updated_at", "read_at", "last_active_at", "deleted_at")

# Seconds from 0001-01-01 to 9999-12-31T23:59:59 UTC: what datetime can show.
_MIN_TIMESTAMP = -62_135_596_800
_MAX_TIMESTAMP = 253_402_300_799

# JSON whitespace only (RFC 8259), after an optional UTF-8 byte order mark.
_LOOKS_LIKE_OBJECT = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{")


@dataclass(frozen=True)
class EventType:
    """One of the event types the provider documents."""

    name: str
    resource_type: str
    action: str
    description: str


def _description(resource_type: str, action: str) -> str:
    """The seeds' wording for one event type."""
    article = "An" if resource_type[0] in "aeiou" else "A"
    if action == "created":
        return f"A new {resource_type} was created."
    if action == "updated":
        return f"An existing {resource_type} was updated."
    return f"{article} {resource_type} was successfully deleted."


CATALOGUE: dict[str, EventType] = {
    f"{resource}.{action}": EventType(
        f"{resource}.{action}", resource, action, _description(resource, action)
    )
    for resource in RESOURCE_TYPES
    for action in ACTIONS
}


@dataclass(frozen=True)
class Event:
    """What a captured body says about itself, as far as it can be read."""

    id: str | None
    type: str | None
    resource_type: str | None
    resource_id: str | None
    known: bool

    def to_dict(self) -> dict:
        """The JSON shape used in request summaries."""
        return {
            "id": self.id,
            "type": self.type,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "known": self.known,
        }


def _parse_int(digits: str) -> int | str:
    """Parse a JSON integer, keeping the digits when Python refuses the size."""
    try:
        return int(digits)
    except ValueError:  # over sys.get_int_max_str_digits(): keep it readable
        return digits


def load_object(body: bytes) -> dict | None:
    """Decode a body that is a UTF-8 JSON object, else None; never raises."""
    # Content types are not trusted (providers mislabel), the first byte is.
    if not _LOOKS_LIKE_OBJECT.match(body):
        return None
    try:
        text = body.decode("utf-8-sig")
        try:
            value = json.loads(text)  # the C parser; a Python parse_int would slow every body
        except ValueError as exc:
            if "integer string conversion" not in str(exc):
                raise
            value = json.loads(text, parse_int=_parse_int)  # a hostile 5,000-digit number
    except (ValueError, RecursionError):  # bad UTF-8/JSON, or absurd nesting
        return None
    return value if isinstance(value, dict) else None


def _as_id(value: object) -> str | None:
    """An identifier as text: strings as-is, finite numbers printed."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # bool is an int subclass, and never an id
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def _resource_type(event_type: str | None) -> str | None:
    """The part of an event type before the first dot (the payload type)."""
    if not event_type:
        return None
    return event_type.split(".", 1)[0] or None  # ".created" names no resource


def parse_event(body: bytes, content_type: str = "") -> Event | None:
    """Read the event envelope from a body, or None if it is not a JSON object."""
    # content_type is accepted for callers' convenience but deliberately
    # ignored: a JSON body labelled text/plain is still an event.
    envelope = load_object(body)
    if envelope is None:
        return None
    event_type = envelope.get("type")
    event_type = event_type if isinstance(event_type, str) else None
    payload = envelope.get("payload")
    resource_id = _as_id(payload.get("id")) if isinstance(payload, dict) else None
    return Event(
        id=_as_id(envelope.get("id")),
        type=event_type,
        resource_type=_resource_type(event_type),
        resource_id=resource_id,
        known=event_type in CATALOGUE,
    )


def _timestamp(key: object, value: object) -> bool:
    """Whether a key/value pair looks like a unix-seconds timestamp."""
    return (
        isinstance(key, str)
        and key.endswith("_at")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and _MIN_TIMESTAMP <= value <= _MAX_TIMESTAMP  # also rejects NaN
    )


def event_timestamps(obj: object) -> list[tuple[str, int | float]]:
    """Unix timestamps in an envelope's payload and its nested objects, in order."""
    payload = obj.get("payload") if isinstance(obj, dict) else None
    if not isinstance(payload, dict):
        return []
    found = []
    for key, value in payload.items():
        if _timestamp(key, value):
            found.append((f"payload.{key}", value))
        elif isinstance(value, dict):
            found.extend(
                (f"payload.{key}.{inner}", stamp)
                for inner, stamp in value.items()
                if _timestamp(inner, stamp)
            )
    return found
