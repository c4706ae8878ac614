"""Realistic sample events of the 15 Protocol types, for ``inspector send``.

Payloads follow the shape of the seeds' ``message.updated`` example: 16-char
alphanumeric ids, unix-seconds timestamps, nested contact objects.

What describes the object (its conversation, contact, file, created_at, ...) is
drawn from a generator seeded by the object id, so every event about one object
agrees on it, whichever process sends it; only what a real change touches (the
text, updated_at, deleted_at, activity times) and the event id come from the
event's own generator. An update edits the object in a way also fixed by its id.
"""

from __future__ import annotations

import json
import random
import string
import time

from .events import CATALOGUE

_ID_ALPHABET = string.ascii_letters + string.digits
# A fixed "now" keeps seeded samples byte-identical from one run to the next.
_SEEDED_NOW = 1_718_000_000
# Objects are created up to a year before the seeded "now", hence before any event about them.
_OBJECT_AGE = (86400, 365 * 86400)
_PEOPLE = (
    ("KevinMcCallister", "Kevin McCallister"),
    ("KateMcCallister", "Kate McCallister"),
    ("PeterMcCallister", "Peter McCallister"),
    ("BuzzMcCallister", "Buzz McCallister"),
    ("HarryLime", "Harry Lime"),
    ("MarvMerchants", "Marv Merchants"),
    ("OldManMarley", "Marley"),
    ("GusPolinski", "Gus Polinski"),
)
_MESSAGES = (
    "I’m traveling with my dad. He’s at a meeting. I hate meetings.",
    "Did anyone remember to lock the back door?",
    "Flight lands at 6 — can someone pick me up?",
    "Pizza’s here. Cheese only, nobody panic.",
    "Running late, start without me 🙏",
)
_GROUP_DESCRIPTIONS = (
    "Who has the passports?",
    "Passports found. Taxi at 7.",
    "Somebody count the kids before we leave.",
)
_FILES = (
    ("boarding-pass.pdf", "application/pdf"),
    ("house-plan.png", "image/png"),
    ("voice-note.m4a", "audio/mp4"),
    ("shopping-list.txt", "text/plain"),
)


def _new_id(rng: random.Random) -> str:
    """A 16-character alphanumeric id like the seeds' ``a056V7R7NmNRjl70``."""
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(16))


def _object_rng(resource: str, object_id: str) -> random.Random:
    """The generator of an object's own facts: the same for every event about it."""
    return random.Random(f"{resource}:{object_id}")  # str seeds do not depend on PYTHONHASHSEED


def _contact(obj: random.Random, before: int) -> dict:
    """A contact as nested in messages and groups, created and last active by `before`."""
    username, _ = obj.choice(_PEOPLE)
    created = before - obj.randint(30 * 86400, 3 * 365 * 86400)
    return {
        "id": _new_id(obj),
        "username": username,
        "phone_number": f"1-555-{obj.randint(100, 999)}-{obj.randint(1000, 9999)}",
        "avatar_url": f"https://assets.protocol.chat/avatars/{username.lower()}.jpg",
        "last_active_at": before - obj.randint(0, 86400 // 2),
        "created_at": created,
    }


def _recent(rng: random.Random, created: int, now: int, most: int) -> int:
    """A moment of activity up to `most` seconds before now, never before the object existed."""
    return max(created, now - rng.randint(60, most))


def _payload(resource: str, object_id: str, obj: random.Random, rng: random.Random,
             created: int, now: int, changed: bool) -> dict:
    """A payload of one resource type; `changed` once the object was updated after creation."""
    if resource == "message":
        original, edited = obj.sample(_MESSAGES, 2)  # as created, and after an update
        return {"id": object_id, "conversation_id": _new_id(obj), "contact": _contact(obj, created),
                "message": edited if changed else original, "reactions": [], "attachments": [],
                "read_at": created + obj.randint(60, 3600)}  # read once, soon after it was sent
    if resource == "contact":
        contact = _contact(obj, created)
        display = dict(_PEOPLE)[contact["username"]]
        return {**contact, "id": object_id, "display_name": display, "conversation_id": _new_id(obj),
                "last_active_at": _recent(rng, created, now, 86400) if changed else created}
    if resource == "conversation":
        return {"id": object_id, "contact_id": _new_id(obj),
                "group_id": _new_id(obj) if obj.random() < 0.5 else None,
                "pinned": obj.random() < 0.3, "muted": obj.random() < 0.2,
                "last_active_at": _recent(rng, created, now, 3600) if changed else created,
                "last_opened_at": _recent(rng, created, now, 7200) if changed else created,
                "archived_at": None}
    if resource == "group":
        original, edited = obj.sample(_GROUP_DESCRIPTIONS, 2)
        members = [_contact(obj, created) for _ in range(obj.randint(2, 4))]
        return {"id": object_id, "name": "Family trip to Paris",
                "description": edited if changed else original,
                "avatar_url": "https://assets.protocol.chat/avatars/group.jpg",
                "conversation_id": _new_id(obj), "contacts": members}
    filename, file_type = obj.choice(_FILES)
    return {"id": object_id, "message_id": _new_id(obj), "filename": filename,
            "file_url": f"https://assets.protocol.chat/attachments/{object_id}/{filename}",
            "file_type": file_type, "file_size": obj.randint(2_000, 5_000_000)}


def sample_event(
    event_type: str,
    *,
    event_id: str | None = None,
    object_id: str | None = None,
    rng: random.Random | None = None,
) -> dict:
    """A complete envelope ``{"id", "type", "payload"}`` of one catalogued type."""
    if event_type not in CATALOGUE:
        raise ValueError(
            f"unknown event type {event_type!r}; expected one of: {', '.join(CATALOGUE)}"
        )
    # Unseeded samples are stamped with the real time so the dashboard shows "now".
    now = _SEEDED_NOW if rng is not None else int(time.time())
    rng = rng if rng is not None else random.Random()
    resource, action = CATALOGUE[event_type].resource_type, CATALOGUE[event_type].action
    object_id = object_id if object_id is not None else _new_id(rng)
    obj = _object_rng(resource, object_id)
    created = _SEEDED_NOW - obj.randint(*_OBJECT_AGE)  # before any event, seeded or real
    changed = action != "created"
    payload = _payload(resource, object_id, obj, rng, created, now, changed)
    payload["created_at"] = created
    # A just-created object was never updated; any later event comes after a change.
    payload["updated_at"] = now if changed else created
    if action == "deleted":
        payload["deleted_at"] = now
    event_id = event_id if event_id is not None else _new_id(rng)
    return {"id": event_id, "type": event_type, "payload": payload}


def sample_body(event_type: str, **kw) -> bytes:
    """The exact bytes to sign and send: compact UTF-8 JSON of sample_event."""
    event = sample_event(event_type, **kw)
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
