"""inspector.compare: diffs of stored requests and answers, and the previous request about an object."""
from __future__ import annotations

import gc
import json
import random
import secrets

import pytest
import sqlalchemy as sa

from inspector import compare
from inspector.diff import Change, diff_payloads
from inspector.models import CapturedRequest, Resend, db
from inspector.samples import sample_body
from inspector.textdiff import Row

OBJECT = "SIuAFq2m8XkP0wZt"


def send(client, token: str, body: bytes, content_type: str = "application/json", **headers) -> int:
    """Capture a request on an endpoint; its id."""
    response = client.post(f"/hooks/{token}", data=body, headers={"Content-Type": content_type, **headers})
    assert response.status_code in (200, 413), response.get_data(as_text=True)
    return int(response.headers["X-Inspector-Request-Id"])


def event(event_type: str, object_id: str = OBJECT, **payload) -> bytes:
    """A sample event about one object (the same sample each time), with payload fields set."""
    envelope = json.loads(sample_body(event_type, object_id=object_id, rng=random.Random(object_id),
                                      event_id=secrets.token_hex(8)))
    envelope["payload"].update(payload)
    return json.dumps(envelope).encode()


def new_endpoint(client, name: str = "Other") -> str:
    """Another endpoint's token."""
    return client.post("/api/endpoints", json={"name": name}).json["token"]


def stored(app, request_id: int) -> CapturedRequest:
    """A captured request as the views load it."""
    return db.session.get(CapturedRequest, request_id)


def test_previous_request_is_the_newest_earlier_one_about_the_same_object(app, client, endpoint):
    token = endpoint["token"]
    first = send(client, token, event("message.created", message="one"))
    second = send(client, token, event("message.updated", message="two"))
    send(client, new_endpoint(client), event("message.updated", message="elsewhere"))  # other endpoint
    send(client, token, event("contact.updated", object_id=OBJECT))  # same id, other type
    send(client, token, event("message.updated", object_id="another0000000000"))
    third = send(client, token, event("message.updated", message="three"))
    later = send(client, token, event("message.deleted"))
    with app.app_context():
        assert compare.previous_request(stored(app, first)) is None
        assert compare.previous_request(stored(app, second)).id == first
        assert compare.previous_request(stored(app, third)).id == second
        assert compare.previous_request(stored(app, later)).id == third


def test_the_same_object_on_another_endpoint_does_not_count(app, client, endpoint):
    elsewhere = send(client, new_endpoint(client), event("message.created", message="one"))
    here = send(client, endpoint["token"], event("message.updated", message="two"))
    with app.app_context():
        assert compare.previous_request(stored(app, here)) is None
        context = compare.object_context(stored(app, here))
        assert (context.resource_type, context.resource_id, context.previous, context.diff) == (
            "message", OBJECT, None, None)
        assert compare.previous_request(stored(app, elsewhere)) is None


def test_requests_without_an_object_have_no_context(app, client, endpoint):
    plain = send(client, endpoint["token"], b"a=1", "application/x-www-form-urlencoded")
    no_id = send(client, endpoint["token"], b'{"type": "message.updated", "payload": {}}')
    with app.app_context():
        for request_id in (plain, no_id):
            assert compare.previous_query(stored(app, request_id)) is None
            assert compare.object_context(stored(app, request_id)) is None


def test_object_context_lists_what_changed_loud_first(app, client, endpoint):
    token = endpoint["token"]
    send(client, token, event("message.created", message="Hello", created_at=692233200, updated_at=692233200))
    second = send(client, token, event("message.updated", message="Hello, world", created_at=692233200,
                                       updated_at=692233260))
    with app.app_context():
        context = compare.object_context(stored(app, second))
        assert [c.path for c in context.shown] == ["payload.message", "type", "id", "payload.updated_at"]
        shown = {c.path: c for c in context.shown}
        assert (shown["payload.message"].left, shown["payload.message"].right) == ('"Hello"', '"Hello, world"')
        assert shown["payload.updated_at"].left == "692233200 (1991-12-08T23:00:00Z)"
        assert shown["payload.updated_at"].right == "692233260 (1991-12-08T23:01:00Z)"
        assert [c.noisy for c in context.shown] == [False, False, True, True]


def test_sent_samples_about_one_object_differ_in_what_an_update_changes(app, client, endpoint):
    # As `inspector send TYPE --object-id OBJECT` builds them: unseeded, one process each.
    token = endpoint["token"]
    bodies = [sample_body(f"message.{action}", object_id=OBJECT) for action in ("created", "updated", "deleted")]
    created, updated, deleted = (send(client, token, body) for body in bodies)
    with app.app_context():
        context = compare.object_context(stored(app, updated))
        assert context.previous.id == created
        assert [c.path for c in context.shown] == ["payload.message", "type", "id", "payload.updated_at"]
        context = compare.object_context(stored(app, deleted))
        assert [c.path for c in context.shown][:3] == ["type", "id", "payload.deleted_at"]
        assert {c.path for c in context.shown[3:]} <= {"payload.updated_at"}  # unless sent the same second


def test_numbers_spelled_otherwise_are_the_same_json(app, client, endpoint):
    token = endpoint["token"]
    left = send(client, token, b'{"id": "e1", "n": 1, "big": 12345678901234567890123, "price": 1.10, "e": 1e2}')
    right = send(client, token, b'{"id": "e1", "n": 1.0, "big": 12345678901234567890123, "price": 1.1, "e": 100}')
    answer = client.get(f"/api/diff?left={left}&right={right}").json
    assert answer["changes"] == []
    for line in ('-  "n": 1,', '+  "n": 1.0,', '-  "e": 1e2,', '+  "e": 100,', '-  "price": 1.10', '+  "price": 1.1'):
        assert line in answer["unified"].splitlines()
    page = client.get(f"/diff?left={left}&right={right}").get_data(as_text=True)
    assert "The two bodies hold the same JSON (key order and number spelling aside)." in page
    bigger = send(client, token, b'{"id": "e1", "n": 1, "big": 12345678901234567890124, "price": 1.10, "e": 1e2}')
    answer = client.get(f"/api/diff?left={left}&right={bigger}").json
    assert [(c["path"], c["left"], c["right"]) for c in answer["changes"]] == [
        ("big", 12345678901234567890123, 12345678901234567890124)]
    assert "same JSON" not in client.get(f"/diff?left={left}&right={bigger}").get_data(as_text=True)


def test_bodies_over_the_inline_limit_get_a_link_only(app, client, endpoint):
    token = endpoint["token"]
    send(client, token, event("message.created", message="x" * 2000))
    second = send(client, token, event("message.updated", message="y" * 2000))
    with app.app_context():
        big = compare.object_context(stored(app, second), inline_limit=1000)
        assert big.previous is not None and big.diff is None and big.too_big and big.shown == []
        small = compare.object_context(stored(app, second))
        assert not small.too_big and small.diff.changes


def test_the_lookup_uses_the_object_index(sqlite_app):
    with sqlite_app.app_context():
        req = CapturedRequest(id=9, endpoint_id=1, resource_type="message", resource_id="m1")
        query = compare.previous_query(req)
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        assert any("ix_captured_endpoint_object" in str(row) for row in plan), plan


def test_diff_requests_says_when_a_body_was_not_stored(app, client, endpoint):
    app.config["MAX_BODY_BYTES"] = 100
    kept = send(client, endpoint["token"], b'{"a": 1}')
    refused = send(client, endpoint["token"], b'{"a": "' + b"x" * 200 + b'"}')
    with app.app_context():
        result = compare.diff_requests(stored(app, kept), stored(app, refused))
        assert result.note.startswith("the right request's body was not stored (over the size limit)")


def test_diff_resends_compares_answers_and_says_the_status():
    left = Resend(id=1, response_body=b'{"ok": true, "n": 1}', response_headers=[["Content-Type", "application/json"]],
                  status_code=200, error=None, response_truncated=False)
    right = Resend(id=2, response_body=b'{"ok": false, "n": 1}', response_headers=[["content-type", "application/json"],
                   ["Retry-After", "5"]], status_code=503, error=None, response_truncated=True)
    result = compare.diff_resends(left, right)
    assert [(c.op, c.path) for c in result.changes] == [("changed", "ok")]
    assert [(c.op, c.path) for c in result.headers] == [("added", "retry-after")]
    assert result.note == "answer status 200 vs status 503; attempt #2's answer was cut at the response size cap"
    failed = Resend(id=3, response_body=b"", response_headers=[], status_code=None, error="connection refused",
                    response_truncated=False)
    assert compare.answer_line(failed) == "no answer (connection refused)"


@pytest.mark.parametrize(("path", "value", "text"), [
    ("payload.message", "<b>hi</b>", '"<b>hi</b>"'),
    ("payload.updated_at", 692233260, "692233260 (1991-12-08T23:01:00Z)"),
    ("payload.read_at", None, "null"),
    ("payload.deleted_at", True, "true"),
    ("payload.sent_at", 10**30, str(10**30)),
    ("payload.count", 2**70, str(2**70)),
    ("payload.items", ["x" * 400], '["' + "x" * 298 + "… (404 characters)"),
])
def test_shown_values(path, value, text):
    assert compare.shown_value(path, value) == text


def test_shown_value_of_something_too_deep_to_encode():
    deep: object = 1
    for _ in range(100_000):
        deep = [deep]
    assert compare.shown_value("a", deep) == "(nested too deeply to show)"


def test_shown_changes_leave_the_absent_side_empty():
    shown = compare.shown_changes([Change("added", "a", None, 1), Change("removed", "b", None, None),
                                   Change("changed", "c", None, False)])
    assert [(c.left, c.right) for c in shown] == [("", "1"), ("null", ""), ("null", "false")]


def test_side_rows_mark_the_gaps_between_hunks():
    rows = [Row(4, "a", 4, "a", "equal"), Row(5, "b", 5, "B", "replace"), Row(None, None, 6, "c", "insert"),
            Row(6, "d", 7, "d", "equal"), Row(20, "x", 21, "y", "replace")]
    assert [item.gap for item in compare.side_rows(rows)] == [True, False, False, False, True]
    assert [item.gap for item in compare.side_rows(rows[:0])] == []
    assert compare.side_rows([Row(1, "a", 1, "a", "equal")])[0].gap is False


def test_diffing_never_turns_the_garbage_collector_off(monkeypatch):
    def refuse() -> None:
        raise AssertionError("gc.disable() stops the collector for every thread of the server")

    monkeypatch.setattr(gc, "disable", refuse)
    big = json.dumps([{"id": n, "v": [n]} for n in range(5000)]).encode()
    assert diff_payloads(big, big.replace(b'"v": [7]', b'"v": [8]')).changes[0].path == "[7].v[0]"
    assert gc.isenabled()
