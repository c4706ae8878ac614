"""Tests for the sample events that ``inspector send`` posts (inspector.samples)."""

import json
import random
import re
import time

import pytest

from inspector.diff import diff_json
from inspector.events import CATALOGUE, event_timestamps, parse_event
from inspector.samples import sample_body, sample_event

ID = re.compile(r"[A-Za-z0-9]{16}")

CONTACT_KEYS = {"id", "username", "phone_number", "avatar_url", "last_active_at", "created_at"}
PAYLOAD_KEYS = {
    "message": {"id", "conversation_id", "contact", "message", "reactions", "attachments",
                "read_at", "created_at", "updated_at"},
    "contact": CONTACT_KEYS | {"display_name", "conversation_id", "updated_at"},
    "conversation": {"id", "contact_id", "group_id", "pinned", "muted", "last_active_at",
                     "last_opened_at", "created_at", "archived_at"},
    "group": {"id", "name", "description", "avatar_url", "conversation_id", "contacts",
              "created_at", "updated_at"},
    "attachment": {"id", "message_id", "filename", "file_url", "file_type", "file_size",
                   "created_at"},
}


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_sample_parses_back(event_type):
    body = sample_body(event_type, rng=random.Random(event_type))
    event = parse_event(body, "application/json")
    sent = json.loads(body)
    assert event.type == event_type
    assert event.known
    assert event.resource_type == CATALOGUE[event_type].resource_type
    assert event.resource_id == sent["payload"]["id"]
    assert event.id == sent["id"]
    assert ID.fullmatch(event.id) and ID.fullmatch(event.resource_id)


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_sample_payload_shape(event_type):
    resource, action = event_type.split(".")
    payload = sample_event(event_type, rng=random.Random(7))["payload"]
    assert PAYLOAD_KEYS[resource] <= payload.keys()
    nested = [payload["contact"]] if resource == "message" else payload.get("contacts", [])
    for contact in nested:
        assert contact.keys() == CONTACT_KEYS
        assert ID.fullmatch(contact["id"])
    if action == "updated":
        assert payload["updated_at"] > payload["created_at"]
    if action == "deleted":
        assert payload["deleted_at"] >= payload["created_at"]
    stamps = event_timestamps({"payload": payload})
    assert all(isinstance(value, int) for _, value in stamps)
    assert ("payload.created_at", payload["created_at"]) in stamps


def test_sample_body_is_compact_utf8_json():
    body = sample_body("message.created", rng=random.Random(3))
    assert isinstance(body, bytes)
    assert body == json.dumps(
        json.loads(body.decode("utf-8")), separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def test_non_ascii_is_sent_as_utf8():
    bodies = [sample_body("message.created", rng=random.Random(seed)) for seed in range(50)]
    assert any(b"\xe2\x80\x99" in body for body in bodies)  # the seeds' curly apostrophe
    assert not any(b"\\u" in body for body in bodies)


def test_seeded_rng_is_deterministic():
    for event_type in CATALOGUE:
        first = sample_body(event_type, rng=random.Random(42))
        assert sample_body(event_type, rng=random.Random(42)) == first
    assert sample_body("group.created", rng=random.Random(1)) != sample_body(
        "group.created", rng=random.Random(2)
    )


def test_unseeded_samples_differ():
    assert sample_body("contact.created") != sample_body("contact.created")


def test_given_ids_are_used():
    event = sample_event("attachment.updated", event_id="evt_1", object_id="att_1")
    assert event["id"] == "evt_1"
    assert event["payload"]["id"] == "att_1"
    assert "/att_1/" in event["payload"]["file_url"]
    assert parse_event(sample_body("group.deleted", event_id="7", object_id="g")).to_dict() == {
        "id": "7", "type": "group.deleted", "resource_type": "group",
        "resource_id": "g", "known": True,
    }


@pytest.mark.parametrize("event_type", ["invoice.paid", "message", "", "Message.Created"])
def test_unknown_type_raises_listing_the_catalogue(event_type):
    with pytest.raises(ValueError) as excinfo:
        sample_event(event_type)
    for name in CATALOGUE:
        assert name in str(excinfo.value)
    with pytest.raises(ValueError):
        sample_body(event_type)


# --- events about one object (`inspector send --object-id`) --------------------------------

# What a real change touches: edited content, and when the object was updated or active.
CHANGING = {"message", "description", "updated_at", "deleted_at", "last_active_at", "last_opened_at"}


@pytest.mark.parametrize("resource", sorted({kind.resource_type for kind in CATALOGUE.values()}))
def test_events_about_one_object_agree_on_the_object(resource):
    events = [sample_event(f"{resource}.{action}", object_id="OBJ1")
              for action in ("created", "updated", "updated", "deleted")]
    seeded = sample_event(f"{resource}.updated", object_id="OBJ1", rng=random.Random(9))
    for event in [*events[1:], seeded]:
        fixed = {key for key in events[0]["payload"] if key not in CHANGING}
        assert {key: event["payload"][key] for key in fixed} == {key: events[0]["payload"][key] for key in fixed}
    assert len({event["id"] for event in events}) == len(events)


@pytest.mark.parametrize("event_type", CATALOGUE)
def test_no_timestamp_is_before_creation_or_after_the_event(event_type):
    before = int(time.time())
    payload = sample_event(event_type, object_id="OBJ1")["payload"]
    after = int(time.time())
    created = sample_event(event_type.split(".")[0] + ".created", object_id="OBJ1")["payload"]["created_at"]
    assert payload["created_at"] == created
    for path, stamp in event_timestamps({"payload": payload}):
        assert stamp <= after, path
        if path.count(".") == 1:  # the object's own times; nested contacts existed before it
            assert stamp >= created, path
    if not event_type.endswith(".created"):
        assert before <= payload["updated_at"] <= after


def test_an_update_of_a_message_changes_its_text_and_times_only():
    created = sample_event("message.created", object_id="OBJ1")
    updated = sample_event("message.updated", object_id="OBJ1")
    changes = [change for change in diff_json(created, updated) if not change.noisy]
    assert [change.path for change in changes] == ["payload.message", "type"]
    assert [change.path for change in diff_json(updated, sample_event("message.updated", object_id="OBJ1"))
            if not change.noisy] == []
    other = sample_event("message.created", object_id="OBJ2")["payload"]  # another object, other facts
    assert (other["conversation_id"], other["contact"]) != (created["payload"]["conversation_id"],
                                                            created["payload"]["contact"])
