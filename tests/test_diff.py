"""Payload diff: structural JSON changes, headers, text and binary fallbacks, exact numbers."""
from __future__ import annotations

import copy
import difflib
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector import jsontext, textdiff
from inspector.diff import (
    Change, JsonNumber, diff_headers, diff_json, diff_payloads, dumps, is_noisy_path, json_default,
    parse_json, pretty_json,
)


def changes(left: str, right: str) -> list[tuple[str, str, object, object]]:
    """(op, path, left, right) of the structural diff of two JSON texts."""
    return [(c.op, c.path, c.left, c.right) for c in diff_json(parse_json(left), parse_json(right))]


def nested(depth: int, leaf: object, container: str = "object") -> object:
    """A value `depth` containers deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = {"a": value} if container == "object" else [value]
    return value


CREATED = {
    "id": "a056V7R7NmNRjl70", "type": "message.created",
    "payload": {"id": "msg_8f2", "message": "Hello", "reactions": [], "conversation_id": "c_1",
                "created_at": 692233200, "updated_at": 692233200},
}
UPDATED = {
    "id": "b7Kq0WmT2cXy9PzA", "type": "message.updated",
    "payload": {"id": "msg_8f2", "message": "Hello, world", "reactions": [{"emoji": "👍", "user_id": "u_2"}],
                "conversation_id": "c_1", "created_at": 692233200, "updated_at": 692233260},
}


# --- structural diff -------------------------------------------------------------------

def test_key_order_alone_is_no_change():
    left, right = b'{"a": 1, "b": {"x": [1, 2], "y": null}}', b'{"b": {"y": null, "x": [1, 2]}, "a": 1}'
    result = diff_payloads(left, right, "application/json", "application/json")
    assert (result.kind, result.changes, result.unified, result.note) == ("json", [], "", None)


def test_added_removed_changed_with_exact_paths():
    left = '{"payload": {"reactions": [{"emoji": "👍"}], "gone": 1, "a.b": 1, "with space": {"x": 1}}}'
    right = '{"payload": {"reactions": [{"emoji": "🎉"}], "new": [], "a.b": 2, "with space": {"x": 2}}}'
    assert changes(left, right) == [
        ("changed", 'payload["a.b"]', 1, 2),
        ("removed", "payload.gone", 1, None),
        ("added", "payload.new", None, []),
        ("changed", "payload.reactions[0].emoji", "👍", "🎉"),
        ("changed", 'payload["with space"].x', 1, 2),
    ]


@pytest.mark.parametrize(("left", "right", "expected"), [
    ("1", "2", [("changed", "", 1, 2)]),
    ("[1, 2]", "[1, 3]", [("changed", "[1]", 2, 3)]),
    ('{"a": {"b": 1}}', '{"a": [1]}', [("changed", "a", {"b": 1}, [1])]),
    ('{"a": 1}', '{"a": "1"}', [("changed", "a", 1, "1")]),
    ('{"a": 1}', '{"a": true}', [("changed", "a", 1, True)]),
    ('{"a": null}', '{"a": false}', [("changed", "a", None, False)]),
    ('{"": 1, "1x": 2}', '{"": 3, "1x": 4}', [("changed", '[""]', 1, 3), ("changed", '["1x"]', 2, 4)]),
])
def test_scalar_and_type_changes(left, right, expected):
    assert changes(left, right) == expected


def test_one_inserted_element_is_one_added_change():
    items = [{"id": f"r{n}", "emoji": "👍", "n": n} for n in range(50)]
    more = [*items[:10], {"id": "new", "emoji": "🎉", "n": 99}, *items[10:]]
    result = diff_json({"payload": {"reactions": items}}, {"payload": {"reactions": more}})
    assert result == [Change("added", "payload.reactions[10]", None, more[10])]


def test_removed_element_uses_its_left_index_and_insert_plus_edit_pairs_by_id():
    items = [{"id": n, "v": n} for n in range(8)]
    assert changes(json.dumps(items), json.dumps(items[:3] + items[4:])) == [("removed", "[3]", items[3], None)]
    edited = [*items[:3], {"id": "x", "v": 0}, {"id": 3, "v": 33}, *items[4:]]
    assert changes(json.dumps(items), json.dumps(edited)) == [
        ("added", "[3]", None, {"id": "x", "v": 0}), ("changed", "[3].v", 3, 33)]


def test_big_integers_are_exact():
    left, right = json.dumps({"n": 2**70}), json.dumps({"n": 2**70 + 1})
    assert changes(left, right) == [("changed", "n", 2**70, 2**70 + 1)]
    assert changes(left, left) == []


def test_numbers_compare_by_exact_value_whatever_their_spelling():
    # Same value, other spelling: no structural change (the text diff shows it).
    assert changes('{"a": 1.0, "b": 1e2, "c": -0.0}', '{"a": 1.00, "b": 100.0, "c": 0.0}') == []
    assert changes('{"a": 1, "b": 100, "c": 1.10, "d": 0, "e": 10}', '{"a": 1.0, "b": 1e2, "c": 1.1, "d": -0e3, "e": 1E+1}') == []
    assert changes('[1, 2.50, 1e400, -3]', '[1.0, 2.5, 10E399, -3.000]') == []
    # Different values differ, exactly: no float rounding either way.
    assert changes('{"n": 12345678901234567890123}', '{"n": 12345678901234567890124}') == [
        ("changed", "n", 12345678901234567890123, 12345678901234567890124)]
    assert changes('{"n": 12345678901234567890123}', '{"n": 1.2345678901234567890124e22}') == [
        ("changed", "n", 12345678901234567890123, JsonNumber("1.2345678901234567890124e22"))]
    assert len(changes('{"a": 0.1000000000000000000001}', '{"a": 0.1}')) == 1  # beyond float precision
    assert changes('{"a": 0.30000000000000004}', '{"a": 0.3}') == [
        ("changed", "a", JsonNumber("0.30000000000000004"), JsonNumber("0.3"))]
    assert changes('{"a": 1}', '{"a": 1.5}') == [("changed", "a", 1, JsonNumber("1.5"))]
    assert changes('{"a": 1}', '{"a": true}') == [("changed", "a", 1, True)]  # a bool is no number
    # Numbers past Decimal's exponent range are compared as spelled, without an error.
    assert len(changes('{"a": 1e999999999999999999999}', '{"a": 1.0}')) == 1


def test_the_text_diff_shows_spelling_the_structural_diff_ignores():
    result = diff_payloads(b'{"a": 1.0, "b": 1e2, "c": 1.10}', b'{"a": 1, "b": 100, "c": 1.1}')
    assert result.kind == "json" and result.changes == []
    assert '-  "a": 1.0,\n-  "b": 1e2,\n-  "c": 1.10\n+  "a": 1,\n+  "b": 100,\n+  "c": 1.1\n' in result.unified
    changed = diff_payloads(b'{"a": 1.0, "b": 2}', b'{"a": 1, "b": 2.5}')
    assert [(c.path, c.left, c.right) for c in changed.changes] == [("b", 2, JsonNumber("2.5"))]
    assert '"a": 1.0,' in changed.unified and '"b": 2.5' in changed.unified  # values as received


def test_numbers_of_one_value_align_in_lists():
    # Elements equal by value are the same element: an insert is one "added", not a cascade.
    assert changes('[1.0, 2.50, {"a": 1e2}, [3.0]]', '[0, 1, 2.5, {"a": 100}, [3]]') == [("added", "[0]", None, 0)]
    assert changes('[1.0, 1]', '[1, 1.0]') == []
    assert changes('[{"a": 1.0}, "x"]', '["y", {"a": 1}, "x"]') == [("added", "[0]", None, "y")]


def test_realistic_message_created_vs_updated():
    result = diff_payloads(json.dumps(CREATED).encode(), json.dumps(UPDATED).encode(),
                           "application/json", "application/json; charset=utf-8")
    assert result.kind == "json"
    assert [(c.op, c.path, c.noisy) for c in result.changes] == [
        ("changed", "id", True),
        ("changed", "payload.message", False),
        ("added", "payload.reactions[0]", False),
        ("changed", "payload.updated_at", True),
        ("changed", "type", False),
    ]
    assert '-  "type": "message.created"\n+  "type": "message.updated"\n' in result.unified
    assert result.unified.startswith("--- left\n+++ right\n@@ ")


@pytest.mark.parametrize(("path", "noisy"), [
    ("id", True), ("payload.id", False), ("payload.conversation_id", False), ("created_at", True),
    ("payload.updated_at", True), ("payload.createdAt", True), ("timestamp", True), ("data.event_timestamp", True),
    ("created", True), ("meta.nonce", True), ("request_id", True), ("signature", True),
    ('headers["x-signature"]', True), ("payload.reactions[0].emoji", False), ("payload.items[2]", False),
    ("payload.sent_at[1]", True), ("type", False), ("", False), ("[0]", False), ("payload.format", False),
])
def test_noisy_paths(path, noisy):
    assert is_noisy_path(path) is noisy


def test_deep_python_values_are_diffed_without_recursion():
    for container in ("object", "array"):
        assert diff_json(nested(10_000, 1, container), nested(10_000, 1, container)) == []
        (change,) = diff_json(nested(10_000, 1, container), nested(10_000, 2, container))
        step = ".a" if container == "object" else "[0]"
        assert (change.op, change.left, change.right, change.path) == ("changed", 1, 2, (step * 10_000).lstrip("."))


def test_big_objects_with_deep_or_odd_members_are_still_walked():
    left = {f"k{n}": n for n in range(40)} | {"deep": nested(5_000, 1), "odd": {1, 2}}
    right = {f"k{n}": n for n in range(40)} | {"deep": nested(5_000, 2), "odd": {1, 2}}
    (change,) = diff_json(left, right)
    assert (change.op, change.left, change.right) == ("changed", 1, 2) and change.path.startswith("deep.a.a")


# --- bodies that get no structural diff ---------------------------------------------------

def test_ten_thousand_levels_deep_gives_a_text_diff_with_a_note():
    left, right = b"[" * 10_000 + b"1" + b"]" * 10_000, b"[" * 10_000 + b"2" + b"]" * 10_000
    result = diff_payloads(left, right, "application/json", "application/json")
    assert result.kind == "text" and "nested too deeply for a structural diff" in result.note
    assert result.changes == [] and "-" + "[" * 10_000 + "1" in result.unified
    deep_objects = diff_payloads(b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b"{}")
    assert deep_objects.kind == "text" and "left body is nested too deeply" in deep_objects.note


def test_invalid_json_gives_a_text_diff_saying_why():
    result = diff_payloads(b'{"a": 1,}', b'{"a": 2}', "application/json", "application/json")
    assert result.kind == "text" and result.changes == []
    assert result.note.startswith("left body is not valid JSON: ") and "line 1 column" in result.note
    assert result.unified == '--- left\n+++ right\n@@ -1 +1 @@\n-{"a": 1,}\n+{"a": 2}\n'
    assert "not a JSON value" in diff_payloads(b"[NaN]", b"[1]").note


def test_json_against_form_data_is_a_text_diff():
    result = diff_payloads(b'{"a": "1"}', b"a=1", "application/json", "application/x-www-form-urlencoded")
    assert result.kind == "text"
    assert result.note == "content types differ (application/json vs application/x-www-form-urlencoded), so no structural diff"
    form = diff_payloads(b"a=1&b=2", b"a=1&b=3", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded")
    assert form.kind == "text" and "is not JSON" in form.note and "+a=1&b=3" in form.unified


@pytest.mark.parametrize(("left", "right", "note"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", b"\x89PNG\r\n\x1a\n\x00\x00", "binary, 10 vs 10 bytes, SHA-256 equal"),
    (b"\x1f\x8b\x08\x00abc", b"\x1f\x8b\x08\x00abcd", "binary, 7 vs 8 bytes, SHA-256 differs"),
    (b'{"a": 1}', b"\xff\xfe", "binary, 8 vs 2 bytes, SHA-256 differs"),
    (b"", b"a\x00b", "binary, 0 vs 3 bytes, SHA-256 differs"),
])
def test_binary_bodies(left, right, note):
    result = diff_payloads(left, right, "application/octet-stream", "application/octet-stream")
    assert (result.kind, result.note, result.unified, result.changes, result.rows) == ("binary", note, "", [], [])


def test_empty_bodies():
    both = diff_payloads(b"", b"", "application/json", "application/json")
    assert (both.kind, both.note, both.unified, both.rows) == ("text", "both bodies are empty", "", [])
    one = diff_payloads(b"", b'{"a": 1}', "application/json", "application/json")
    assert one.kind == "text" and one.note == "left body is not valid JSON: empty body"
    assert one.unified == '--- left\n+++ right\n@@ -0,0 +1 @@\n+{"a": 1}\n'


def test_a_utf8_bom_is_skipped_and_str_bodies_are_accepted():
    assert diff_payloads("\ufeff{\"a\": 1}".encode(), b'{"a": 1}').kind == "json"
    assert diff_payloads('{"a": 1}', '{"a": 2}').changes[0].path == "a"


# --- headers ------------------------------------------------------------------------------

def test_headers_compare_names_case_insensitively_and_flag_noise():
    left = [("Content-Type", "application/json"), ("X-Request-Id", "r1"), ("Date", "Mon"), ("Accept", "a"),
            ("X-Protocol-Signature", "ab12"), ("X-Forwarded-For", "10.0.0.1"), ("Set-Cookie", "a=1")]
    right = [("content-type", "application/json"), ("x-request-id", "r2"), ("ACCEPT", "a"),
             ("x-protocol-signature", "cd34"), ("User-Agent", "Protocol/1.0"), ("x-forwarded-for", "10.0.0.2"),
             ("set-cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Inspector-Request-Id", "9")]
    assert [c.to_dict() for c in diff_headers(left, right)] == [
        {"op": "changed", "path": "x-request-id", "left": "r1", "right": "r2", "noisy": True},
        {"op": "removed", "path": "date", "left": "Mon", "right": None, "noisy": True},
        {"op": "changed", "path": "x-protocol-signature", "left": "ab12", "right": "cd34", "noisy": True},
        {"op": "changed", "path": "x-forwarded-for", "left": "10.0.0.1", "right": "10.0.0.2", "noisy": True},
        {"op": "changed", "path": "set-cookie", "left": "a=1", "right": "a=1, b=2", "noisy": False},
        {"op": "added", "path": "user-agent", "left": None, "right": "Protocol/1.0", "noisy": False},
        {"op": "added", "path": "x-inspector-request-id", "left": None, "right": "9", "noisy": True},
    ]
    result = diff_payloads(b"{}", b"{}", left_headers=left, right_headers=left[::-1])
    assert result.headers == [] and result.changes == []


# --- API shape and exact numbers ---------------------------------------------------------

def test_to_dict_is_encodable_and_round_trips_numbers_exactly():
    left = b'{"big": 1180591620717411303424, "f": 1.50, "e": 1E400, "t": 0.1000000000000000000001, "s": "1.5"}'
    right = b'{"big": 1180591620717411303425, "f": 2.50, "e": -1e-400, "t": 0.1, "s": "1.50"}'
    result = diff_payloads(left, right, "application/json", "application/json")
    text = dumps(result.to_dict())
    assert set(json.loads(text)) == {"changes", "headers", "unified", "kind", "note"}
    for fragment in ('"left": 1180591620717411303424', '"right": 1180591620717411303425', '"left": 1.50',
                     '"left": 1E400', '"right": -1e-400', '"left": 0.1000000000000000000001', '"right": "1.50"'):
        assert fragment in text
    decoded = json.loads(text, parse_float=Decimal)
    assert [c["left"] for c in decoded["changes"]][:2] == [2**70, Decimal("1E400")]
    assert '"f": 1.50' in result.unified and '"e": 1E400' in result.unified
    assert json.loads(dumps(result.to_dict(), sort_keys=True, indent=2)) == json.loads(text)
    assert json.dumps([JsonNumber("2.5")], default=json_default) == "[2.5]"
    with pytest.raises(TypeError):
        dumps({"x": object()})
    assert dumps({"x": object()}, default=lambda o: "fallback") == '{"x": "fallback"}'


def test_side_by_side_rows_and_columns():
    result = diff_payloads(b'{"a": 1, "b": 2, "c": 3}', b'{"a": 1, "b": 20, "c": 3, "d": 4}')
    assert [tuple(row) for row in result.rows] == [
        (1, "{", 1, "{", "equal"), (2, '  "a": 1,', 2, '  "a": 1,', "equal"),
        (3, '  "b": 2,', 3, '  "b": 20,', "replace"), (4, '  "c": 3', 4, '  "c": 3,', "replace"),
        (None, None, 5, '  "d": 4', "insert"), (5, "}", 6, "}", "equal"),
    ]
    assert result.left_lines[2] == (3, '  "b": 2,', "replace") and result.right_lines[4] == (5, '  "d": 4', "insert")


def test_big_bodies_get_hunks_only_in_the_side_by_side_view():
    items = [{"id": n, "name": f"item {n}"} for n in range(1000)]
    edited = copy.deepcopy(items)
    edited[500]["name"] = "renamed"
    result = diff_payloads(json.dumps(items).encode(), json.dumps(edited).encode())
    assert result.changes == [Change("changed", "[500].name", "item 500", "renamed")]
    assert "side-by-side shows changed lines with 3 lines of context (4002 vs 4002 lines)" == result.note
    assert [row.tag for row in result.rows] == ["equal"] * 3 + ["replace"] + ["equal"] * 3
    assert result.rows[3] == textdiff.Row(2004, '    "name": "item 500"', 2004, '    "name": "renamed"', "replace")
    assert result.unified.count("@@") == 2


def test_the_side_by_side_view_stops_at_ten_thousand_rows():
    result = diff_payloads(b"a\n" * 12_000, b"b\n" * 12_000, "text/plain", "text/plain")
    assert len(result.rows) == 10_000 and result.note.endswith("side-by-side stops after 10000 rows")
    assert result.unified.count("\n-a") == 12_000 and result.unified.count("\n+b") == 12_000


def test_unified_text_matches_difflib_on_a_plain_case():
    left, right = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n", "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\n"
    result = diff_payloads(left.encode(), right.encode(), "text/plain", "text/plain")
    expected = "".join(difflib.unified_diff(left.splitlines(True), right.splitlines(True), "left", "right", lineterm="\n"))
    assert result.kind == "text" and result.unified == expected


def test_pretty_json_matches_the_standard_library_and_keeps_number_text():
    value = {"b": [1, {"z": [], "y": {}, "x": [[2, {"q": None}]]}, "é"], "a": {"k": True}, "c": "</script>"}
    assert pretty_json(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    assert pretty_json(parse_json(b'{"n": [1.50, 2E-3]}')) == '{\n  "n": [\n    1.50,\n    2E-3\n  ]\n}'


# --- properties ---------------------------------------------------------------------------

NUMBER_TEXT = st.from_regex(r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?([eE][-+]?[0-9]{1,2})?", fullmatch=True)
SCALARS = (st.none() | st.booleans() | st.integers() | st.text(max_size=8)
           | st.floats(allow_nan=False, allow_infinity=False)
           | NUMBER_TEXT.filter(lambda t: any(c in t for c in ".eE")).map(JsonNumber))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=5), max_leaves=25)
# A small alphabet, so that two draws are often equal or nearly so.
SMALL_VALUES = st.recursive(
    st.sampled_from([0, 1, 2, True, None, "a", 1.0, JsonNumber("1.0"), JsonNumber("1.00"), JsonNumber("2e0"),
                     JsonNumber("100e-2")]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("ab"), inner, max_size=2),
    max_leaves=12)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def canonical(value: object) -> object:
    """Value identity as the diff defines it: kinds kept apart, numbers by exact value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int):
        return ("number", Decimal(value))
    if isinstance(value, (float, JsonNumber)):
        return ("number", Decimal(value.text if isinstance(value, JsonNumber) else repr(value)))
    if isinstance(value, dict):
        return ("object", tuple(sorted((key, canonical(child)) for key, child in value.items())))
    return ("array", tuple(canonical(child) for child in value))


@SETTINGS
@given(JSON_VALUES)
def test_a_value_has_no_changes_against_itself_or_a_copy(value):
    assert diff_json(value, value) == []
    assert diff_json(value, copy.deepcopy(value)) == []


@SETTINGS
@given(st.one_of(st.tuples(SMALL_VALUES, SMALL_VALUES), st.tuples(JSON_VALUES, JSON_VALUES)))
def test_no_changes_exactly_when_the_canonical_values_are_equal(pair):
    left, right = pair
    assert (diff_json(left, right) == []) == (canonical(left) == canonical(right))


BODIES = st.one_of(st.binary(max_size=60), JSON_VALUES.map(lambda v: dumps(v).encode()), st.text(max_size=30).map(str.encode))
CONTENT_TYPES = st.sampled_from(["", "application/json", "text/plain", "application/x-www-form-urlencoded"])


@SETTINGS
@given(BODIES, BODIES, CONTENT_TYPES, CONTENT_TYPES)
def test_diff_payloads_never_raises(left, right, left_type, right_type):
    result = diff_payloads(left, right, left_type, right_type)
    assert result.kind in ("json", "text", "binary")
    json.loads(dumps(result.to_dict()))
    if left == right:
        assert result.changes == [] and result.unified == ""


@SETTINGS
@given(JSON_VALUES, JSON_VALUES)
def test_json_lines_are_the_pretty_text_and_their_opcodes_rebuild_it(left, right):
    jsontext.PIECE_BYTES, saved = 8, jsontext.PIECE_BYTES  # cut even small values into pieces
    try:
        a, b, ops = jsontext.json_lines(left, right, jsontext.CompactCache())
    finally:
        jsontext.PIECE_BYTES = saved
    assert list(a) == pretty_json(left).split("\n") and list(b) == pretty_json(right).split("\n")
    assert_opcodes_rebuild(list(a), list(b), ops)
    assert jsontext.line_count(left) == len(a)


@SETTINGS
@given(st.recursive(SCALARS.filter(lambda v: not isinstance(v, JsonNumber)), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=4), inner, max_size=4), max_leaves=20))
def test_pretty_json_is_what_json_dumps_writes(value):
    assert pretty_json(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@SETTINGS
@given(st.lists(st.sampled_from("abcd"), max_size=40), st.lists(st.sampled_from("abcde"), max_size=40))
def test_align_opcodes_rebuild_the_right_side(a, b):
    assert_opcodes_rebuild(a, b, textdiff.align(a, b))


def assert_opcodes_rebuild(a: list, b: list, ops: list) -> None:
    """Opcodes cover both sides in order, equal blocks are equal, and they turn a into b."""
    rebuilt, i, j = [], 0, 0
    for tag, i1, i2, j1, j2 in ops:
        assert (i1, j1) == (i, j) and tag in ("equal", "replace", "delete", "insert")
        assert a[i1:i2] == b[j1:j2] if tag == "equal" else a[i1:i2] != b[j1:j2]
        rebuilt += b[j1:j2]
        i, j = i2, j2
    assert (i, j) == (len(a), len(b)) and rebuilt == b
