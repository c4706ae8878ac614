"""Realistic sample events of the 15 Protocol types, for ``inspector send``.

Payloads follow the shape of the seeds' ``message.updated`` example: 16-char
alphanumeric ids, unix-seconds timestamps, nested contact objects.
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
_FILES = (
    ("boarding-pass.pdf", "application/pdf"),
    ("house-plan.png", "image/png"),
    ("voice-note.m4a", "audio/mp4"),
    ("shopping-list.txt", "text/plain"),
)


def _new_id(rng: random.Random) -> str:
    """A 16-character alphanumeric id like the seeds' ``a056V7R7NmNRjl70``."""
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(16))


def _contact(rng: random.Random, now: int) -> dict:
    """A contact as nested in messages and groups."""
    username, _ = rng.choice(_PEOPLE)
    created = now - rng.randint(30 * 86400, 3 * 365 * 86400)
    return {
        "id": _new_id(rng),
        "username": username,
        "phone_number": f"1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "avatar_url": f"https://assets.protocol.chat/avatars/{username.lower()}.jpg",
        "last_active_at": now - rng.randint(60, 86400),
        "created_at": created,
    }


def _payload(resource: str, object_id: str, rng: random.Random, now: int) -> dict:
    """A payload of one resource type; created_at/updated_at are set later."""
    if resource == "message":
        return {"id": object_id, "conversation_id": _new_id(rng),
                "contact": _contact(rng, now), "message": rng.choice(_MESSAGES),
                "reactions": [], "attachments": [], "read_at": now}
    if resource == "contact":
        contact = _contact(rng, now)
        display = dict(_PEOPLE)[contact["username"]]
        return {**contact, "id": object_id, "display_name": display,
                "conversation_id": _new_id(rng)}
    if resource == "conversation":
        return {"id": object_id, "contact_id": _new_id(rng),
                "group_id": _new_id(rng) if rng.random() < 0.5 else None,
                "pinned": rng.random() < 0.3, "muted": rng.random() < 0.2,
                "last_active_at": now - rng.randint(60, 3600),
                "last_opened_at": now - rng.randint(60, 7200), "archived_at": None}
    if resource == "group":
        members = [_contact(rng, now) for _ in range(rng.randint(2, 4))]
        return {"id": object_id, "name": "Family trip to Paris",
                "description": "Who has the passports?",
                "avatar_url": "https://assets.protocol.chat/avatars/group.jpg",
                "conversation_id": _new_id(rng), "contacts": members}
    filename, file_type = rng.choice(_FILES)
    return {"id": object_id, "message_id": _new_id(rng), "filename": filename,
            "file_url": f"https://assets.protocol.chat/attachments/{object_id}/{filename}",
            "file_type": file_type, "file_size": rng.randint(2_000, 5_000_000)}


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
    action = CATALOGUE[event_type].action
    object_id = object_id if object_id is not None else _new_id(rng)
    payload = _payload(CATALOGUE[event_type].resource_type, object_id, rng, now)
    created = now - rng.randint(3600, 30 * 86400) if action != "created" else now
    payload["created_at"] = created
    # A just-created object was never updated; any later event comes after a change.
    payload["updated_at"] = now if action != "created" else created
    for key in ("read_at", "last_active_at", "last_opened_at"):
        if key in payload:  # nothing is read or active before it exists
            payload[key] = max(payload[key], created)
    if action == "deleted":
        payload["deleted_at"] = now
    event_id = event_id if event_id is not None else _new_id(rng)
    return {"id": event_id, "type": event_type, "payload": payload}


def sample_body(event_type: str, **kw) -> bytes:
    """The exact bytes to sign and send: compact UTF-8 JSON of sample_event."""
    event = sample_event(event_type, **kw)
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
