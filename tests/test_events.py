"""Tests for the event catalogue and envelope parsing (inspector.events)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.events import (
    ACTIONS,
    CATALOGUE,
    RESOURCE_TYPES,
    Event,
    event_timestamps,
    load_object,
    parse_event,
)

# The seeds' "Event types" list, word for word and in their order.
SEED_EVENT_TYPES = [
    ("contact.created", "A new contact was created."),
    ("contact.updated", "An existing contact was updated."),
    ("contact.deleted", "A contact was successfully deleted."),
    ("conversation.created", "A new conversation was created."),
    ("conversation.updated", "An existing conversation was updated."),
    ("conversation.deleted", "A conversation was successfully deleted."),
    ("message.created", "A new message was created."),
    ("message.updated", "An existing message was updated."),
    ("message.deleted", "A message was successfully deleted."),
    ("group.created", "A new group was created."),
    ("group.updated", "An existing group was updated."),
    ("group.deleted", "A group was successfully deleted."),
    ("attachment.created", "A new attachment was created."),
    ("attachment.updated", "An existing attachment was updated."),
    ("attachment.deleted", "An attachment was successfully deleted."),
]

# The seeds' example payload, as the documentation prints it.
SEED_EXAMPLE = """{
"id": "a056V7R7NmNRjl70",
"type": "message.updated",
"payload": {
"id": "SIuAFUNKdSYHZF2w",
"conversation_id": "xgQQXg3hrtjh7AvZ",
"contact": {
"id": "WAz8eIbvDR60rouK",
"username": "KevinMcCallister",
"phone_number": "1-800-759-3000",
"avatar_url": "https://assets.protocol.chat/avatars/kevin.jpg",
"last_active_at": 705103200,
"created_at": 692233200
},
"message": "I\u2019m traveling with my dad. He\u2019s at a meeting. I hate meetings.",
"reactions": [],
"attachments": [],
"read_at": 705103200,
"created_at": 692233200,
"updated_at": 692233200
}
}""".encode()


def envelope(**fields) -> bytes:
    """A JSON body made of the given top-level fields."""
    return json.dumps(fields).encode()


def test_catalogue_matches_seeds():
    assert [(t.name, t.description) for t in CATALOGUE.values()] == SEED_EVENT_TYPES
    assert list(CATALOGUE) == [name for name, _ in SEED_EVENT_TYPES]


def test_catalogue_is_resources_times_actions():
    for name, event_type in CATALOGUE.items():
        assert name == f"{event_type.resource_type}.{event_type.action}"
        assert event_type.resource_type in RESOURCE_TYPES
        assert event_type.action in ACTIONS
    assert len(CATALOGUE) == len(RESOURCE_TYPES) * len(ACTIONS) == 15


def test_parse_seed_example():
    event = parse_event(SEED_EXAMPLE, "application/json")
    assert event == Event(
        id="a056V7R7NmNRjl70",
        type="message.updated",
        resource_type="message",
        resource_id="SIuAFUNKdSYHZF2w",
        known=True,
    )
    assert event.to_dict() == {
        "id": "a056V7R7NmNRjl70",
        "type": "message.updated",
        "resource_type": "message",
        "resource_id": "SIuAFUNKdSYHZF2w",
        "known": True,
    }


def test_unknown_type_is_kept_and_marked():
    event = parse_event(envelope(id="e1", type="invoice.paid", payload={"id": "in_1"}))
    assert event == Event("e1", "invoice.paid", "invoice", "in_1", known=False)


@pytest.mark.parametrize(
    ("event_type", "resource_type"),
    [
        ("conversation.updated", "conversation"),
        ("contact", "contact"),
        ("group.member.added", "group"),
        (".created", None),
        ("", None),
    ],
)
def test_resource_type_is_part_before_first_dot(event_type, resource_type):
    event = parse_event(envelope(type=event_type))
    assert event.type == event_type
    assert event.resource_type == resource_type


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        (42, "42"),
        (1.5, "1.5"),
        (True, None),
        (None, None),
        ({"nested": 1}, None),
        (["x"], None),
    ],
)
def test_ids_are_strings_or_numbers(value, expected):
    event = parse_event(envelope(id=value, type="message.created", payload={"id": value}))
    assert event.id == expected
    assert event.resource_id == expected


def test_non_string_type_and_missing_payload():
    event = parse_event(envelope(id="e1", type=7, payload="not an object"))
    assert event == Event("e1", None, None, None, known=False)


def test_json_is_tried_whatever_the_content_type():
    body = b"\r\n\t " + envelope(id="e1", type="group.deleted")
    assert parse_event(body, "text/plain").type == "group.deleted"
    assert parse_event(b"\xef\xbb\xbf" + body, "application/octet-stream").id == "e1"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello",
        b"id=1&type=message.created",
        b"[1, 2, 3]",
        b'"a string"',
        b"42",
        b"null",
        b"{not json",
        b'{"type": "message.created"',
        b'{"type": "\xff\xfe"}',
        b"\xff\xfe{\x00}\x00",
        b"\x1f\x8b\x08\x00binary",
        b"[" * 10_000 + b"]" * 10_000,
        b"{" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_not_an_object_gives_none(body):
    assert parse_event(body) is None


def test_huge_numbers_do_not_raise():
    digits = "9" * 5000
    payload = f'{{"id": -{digits}, "n": 1e999}}'
    body = f'{{"id": {digits}, "type": "message.created", "payload": {payload}}}'
    event = parse_event(body.encode())
    assert event.id == digits
    assert event.resource_id == "-" + digits
    assert parse_event(b'{"id": 1e999, "payload": {"id": NaN}}') == Event(
        None, None, None, None, known=False
    )


def test_large_body():
    padding = "x" * (25 * 1024 * 1024)
    body = envelope(id="big", type="attachment.created", payload={"id": "a1", "data": padding})
    assert parse_event(body).resource_id == "a1"
    assert parse_event(b" " * (25 * 1024 * 1024)) is None


# database=None: these checks must not leave a .hypothesis folder in the repo.
@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(body):
    result = parse_event(body)
    assert result is None or isinstance(result, Event)
    assert event_timestamps(load_object(body)) is not None


@settings(max_examples=100, deadline=None, database=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=20))
def test_arbitrary_json_never_raises(value):
    body = json.dumps({"id": value, "type": value, "payload": value}).encode()
    event = parse_event(body)
    assert isinstance(event, Event)
    assert isinstance(event.to_dict(), dict)
    assert isinstance(event_timestamps(json.loads(body)), list)


def test_event_timestamps_of_seed_example():
    assert event_timestamps(load_object(SEED_EXAMPLE)) == [
        ("payload.contact.last_active_at", 705103200),
        ("payload.contact.created_at", 692233200),
        ("payload.read_at", 705103200),
        ("payload.created_at", 692233200),
        ("payload.updated_at", 692233200),
    ]


def test_event_timestamps_accepts_any_at_key_and_skips_the_rest():
    obj = {
        "created_at": 1,  # outside payload: not the event's object
        "payload": {
            "archived_at": 1700000000.5,
            "deleted_at": None,
            "pinned_at": True,
            "opened_at": "1700000000",
            "far_at": 1e20,
            "nan_at": float("nan"),
            "when": 1700000000,
            "group": {"joined_at": 1600000000, "deep": {"created_at": 1}},
            "contacts": [{"created_at": 1}],
        },
    }
    assert event_timestamps(obj) == [
        ("payload.archived_at", 1700000000.5),
        ("payload.group.joined_at", 1600000000),
    ]


@pytest.mark.parametrize("obj", [None, [], "x", {}, {"payload": [1]}, {"payload": None}])
def test_event_timestamps_of_non_envelopes(obj):
    assert event_timestamps(obj) == []
