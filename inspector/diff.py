"""Diff two captured webhook payloads: structural JSON changes, headers, text diff.

Pure logic (standard library only, no Flask) behind `GET /api/diff` and the diff
view; `inspector.jsontext` reads and writes JSON text exactly and cuts it into
lines, `inspector.textdiff` diffs lines.

* Numbers are compared by exact decimal value, never through float rounding.
  Integers parse to `int` (exact in Python already); numbers with a fraction or
  exponent parse to `JsonNumber`, which keeps the text received. Spelling is no
  change: `1` vs `1.0`, `1.10` vs `1.1` and `100` vs `1e2` are equal, while
  `12345678901234567890123` vs `...124` or `0.30000000000000004` vs `0.3`
  differ; the text diff still shows the spelling, and changes keep it. Answers
  holding a JsonNumber must be encoded with `dumps()`.
* Key order is never a change. List elements are aligned on their canonical
  encoding (numbers by value), so one inserted element is one "added" change.
* `diff_json` runs on an explicit stack, never recursing per nesting level;
  bodies too deep for Python's json parser get a text diff and a note.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from . import textdiff
from .jsontext import (SCALAR_TYPES, CompactCache, JsonNumber, JsonTooDeep, dumps, json_default, json_lines,
                       parse_json, pretty_json, restore_numbers)

__all__ = [
    "Change", "JsonNumber", "JsonTooDeep", "PayloadDiff", "diff_headers", "diff_json", "diff_payloads",
    "dumps", "is_noisy_header", "is_noisy_path", "json_default", "parse_json", "pretty_json",
]

# Past this nesting, list elements are paired by position instead of aligned on
# their encoding: encoding a deep element again at every level is quadratic.
KEYED_DEPTH = 64
# Objects with this many members have their members' encodings compared first.
BIG_OBJECT = 32
# Bodies longer than this many lines get a side-by-side view of hunks only.
FULL_SIDE_BY_SIDE_LINES = 2000
CONTEXT_LINES = 3
# No view can show more rows than this usefully; the unified text is never cut.
MAX_SIDE_BY_SIDE_ROWS = 10_000

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Whole numbers up to this many digits are written out in canonical number text, like
# ints (Python writes no longer int: sys.get_int_max_str_digits); longer ones stay 1e5000.
_PLAIN_DIGITS = 4300
# Compact JSON holding a number that may be spelled other than canonically (a float, or
# a JsonNumber, marked or restored); strings may match too, which only costs time.
_FRACTION_HINT = re.compile(r"[0-9][.eE]|Infinity|NaN")
# Tokens of compact JSON text: a string (kept), or a number (group 1).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:Infinity|[0-9][0-9.eE+-]*)|NaN)')


@dataclass(frozen=True, slots=True)
class Change:
    """One difference at a path; left is None when added, right is None when removed."""

    op: str  # "added" | "removed" | "changed"
    path: str
    left: Any
    right: Any
    noisy: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The API shape; values may hold JsonNumber, so encode with dumps()."""
        return {"op": self.op, "path": self.path, "left": self.left, "right": self.right, "noisy": self.noisy}


def _change(op: str, path: str, left: Any, right: Any) -> Change:
    """A structural change, flagged noisy by its path."""
    return Change(op, path, left, right, is_noisy_path(path))


_KINDS = {dict: "object", list: "array", tuple: "array", str: "string", bool: "bool",
          int: "number", float: "number", JsonNumber: "number", type(None): "null"}


def _kind(value: Any) -> str:
    """JSON kind of a value; bool is not a number, whatever Python says."""
    kind = _KINDS.get(type(value))
    if kind is None:  # subclasses; bool is tested before int on purpose
        kind = next((name for cls, name in _KINDS.items() if isinstance(value, cls)), "other")
    return kind


def _same_scalar(kind: str, left: Any, right: Any) -> bool:
    """Exact equality of two scalars of one kind; numbers by exact decimal value."""
    if kind != "number":
        return left == right
    if type(left) is float and type(right) is float:
        return left == right or (left != left and right != right)  # NaN equals itself here
    if type(left) is int and type(right) is int:
        return left == right
    try:
        return _decimal(left) == _decimal(right)
    except ArithmeticError:  # an exponent past Decimal's range (10**18): equal only as spelled
        return str(left) == str(right)


def _decimal(number: Any) -> Decimal:
    """Exact value of a number: a JsonNumber's text, an int, a float as Python writes it."""
    if isinstance(number, JsonNumber):
        return Decimal(number.text)
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _number_text(value: Decimal) -> str:
    """Canonical text of a number: equal values, equal text; whole numbers as ints write them."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else "-Infinity" if value < 0 else "Infinity"
    negative, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    if not text:
        return "0"  # -0.0 and 0e5 are 0
    exponent += len(digits) - len(text)
    sign = "-" if negative else ""
    if exponent >= 0 and len(text) + exponent <= _PLAIN_DIGITS:
        return sign + text + "0" * exponent
    return f"{sign}{text}e{exponent}"


def diff_json(left: Any, right: Any) -> list[Change]:
    """Structural changes from left to right, in document order; never recurses."""
    return _diff_json(left, right, CompactCache())


def _diff_json(left: Any, right: Any, compact: CompactCache) -> list[Change]:
    """diff_json sharing element encodings with the text diff of the same values."""
    changes: list[Change] = []
    stack: list[Any] = [("", left, right, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, Change):
            changes.append(item)
        else:
            stack += reversed(_compare(*item, compact))  # reversed: the first one is popped next
    return changes


def _compare(path: str, left: Any, right: Any, depth: int, compact: CompactCache) -> list[Any]:
    """Changes (Change) and pairs still to compare ((path, left, right, depth)) for one node."""
    if left is right:
        return []
    kind = _kind(left)
    if kind != _kind(right):
        return [_change("changed", path, left, right)]
    if kind == "object":
        return _compare_objects(path, left, right, depth, compact)
    if kind == "array":
        return _compare_arrays(path, left, right, depth, compact)
    return [] if _same_scalar(kind, left, right) else [_change("changed", path, left, right)]


def _compare_objects(path: str, left: dict, right: dict, depth: int, compact: CompactCache) -> list[Any]:
    """Keys compared as sets, in sorted order: key order alone is no change."""
    # In a big object, most members are equal: compare their encodings in C first.
    big = len(left) >= BIG_OBJECT and depth < KEYED_DEPTH
    work: list[Any] = []
    for key in sorted(left.keys() | right.keys(), key=str):
        if key not in right:
            work.append(_change("removed", _key_path(path, key), left[key], None))
        elif key not in left:
            work.append(_change("added", _key_path(path, key), None, right[key]))
        elif not _surely_equal(left[key], right[key], compact if big else None):
            work.append((_key_path(path, key), left[key], right[key], depth + 1))
    return work


def _surely_equal(left: Any, right: Any, compact: CompactCache | None) -> bool:
    """A cheap equality test that may say False for equal values, never True for different ones."""
    if left is right:
        return True
    if type(left) is not type(right):
        return False
    if type(left) is JsonNumber:
        return left.text == right.text  # other spellings of one value are left to _compare
    if type(left) in SCALAR_TYPES:
        return left == right  # exact within one type; NaN is left to _compare
    try:
        return compact is not None and compact(left) == compact(right)
    except (RecursionError, TypeError, ValueError):  # too deep or not JSON: _compare walks it
        return False


def _key_path(path: str, key: Any) -> str:
    """path.key, or path["odd key"] when the key is not an identifier."""
    key = str(key)
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _compare_arrays(path: str, left: Sequence, right: Sequence, depth: int, compact: CompactCache) -> list[Any]:
    """Align elements on their encoding; pair what was replaced, add and remove the rest."""
    if not left and not right:
        return []
    keys = _element_keys(left, right, compact) if depth < KEYED_DEPTH else None
    ops = textdiff.align(*keys) if keys else [("replace", 0, len(left), 0, len(right))]
    work: list[Any] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "replace":
            work += _pair_block(path, left, right, (i1, i2, j1, j2), depth)
        elif tag == "delete":
            work += [_change("removed", f"{path}[{i}]", left[i], None) for i in range(i1, i2)]
        elif tag == "insert":
            work += [_change("added", f"{path}[{j}]", None, right[j]) for j in range(j1, j2)]
    return work


def _element_keys(left: Sequence, right: Sequence, compact: CompactCache) -> tuple[list[Any], list[Any]] | None:
    """Canonical encoding of each element (equal encoding exactly when equal value), or None."""
    try:
        return [_value_key(v, compact) for v in left], [_value_key(v, compact) for v in right]
    except (RecursionError, TypeError, ValueError, ArithmeticError):  # too deep, or not JSON: pair by position
        return None


def _value_key(value: Any, compact: CompactCache) -> Any:
    """compact.key with numbers by value, so that 1 and 1.0 align as the same element."""
    kind = type(value)
    if kind is float or kind is JsonNumber:
        try:
            text = _number_text(_decimal(value))
        except ArithmeticError:  # past Decimal's range, as in _same_scalar
            return "#" + str(value)
        return int(text) if text.lstrip("-").isdigit() else "#" + text  # whole: as the int's key
    key = compact.key(value)
    if kind in SCALAR_TYPES or not _FRACTION_HINT.search(key):
        return key
    return _JSON_TOKEN.sub(_canonical_token, restore_numbers(key))


def _canonical_token(match: re.Match) -> str:
    """A number token in canonical text (ints are already); a string as it is."""
    number = match[1]
    if number is None or number.lstrip("-").isdigit():
        return match[0]
    return _number_text(Decimal(number))


def _pair_block(path: str, left: Sequence, right: Sequence, block: tuple[int, int, int, int], depth: int) -> list[Any]:
    """Pair the elements of a replaced block, by id for objects that have one, else in order."""
    i1, i2, j1, j2 = block
    if i2 - i1 == j2 - j1:
        return [(f"{path}[{i1 + k}]", left[i1 + k], right[j1 + k], depth + 1) for k in range(i2 - i1)]
    work: list[Any] = []
    shapes = textdiff.align([_shape(v) for v in left[i1:i2]], [_shape(v) for v in right[j1:j2]])
    for tag, a1, a2, b1, b2 in shapes:
        paired = min(a2 - a1, b2 - b1) if tag in ("equal", "replace") else 0
        work += [(f"{path}[{i1 + a1 + k}]", left[i1 + a1 + k], right[j1 + b1 + k], depth + 1) for k in range(paired)]
        work += [_change("removed", f"{path}[{i1 + i}]", left[i1 + i], None) for i in range(a1 + paired, a2)]
        work += [_change("added", f"{path}[{j1 + j}]", None, right[j1 + j]) for j in range(b1 + paired, b2)]
    return work


def _shape(value: Any) -> tuple:
    """What makes two elements the same thing: kind, and an object's id when it has one."""
    kind = _kind(value)
    if kind == "object" and type(value.get("id")) in (str, int):
        return (kind, type(value["id"]).__name__, value["id"])
    return (kind,)


# Keys whose values change on every event, whatever the event is about.
_NOISY_KEYS = frozenset({"timestamp", "created", "updated", "nonce", "request_id", "requestid", "sig", "hmac"})
_CAMEL_AT = re.compile(r"[a-z0-9]At$")  # createdAt, sentAt
_TRAILING_INDEXES = re.compile(r"(?:\[\d+\])+$")
_LAST_KEY = re.compile(r'\[("(?:[^"\\]|\\.)*")\]$|(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)$')


def is_noisy_path(path: str) -> bool:
    """True for the event's own volatile fields: top-level id, timestamps, signatures, nonces."""
    if path == "id":  # the event id; payload.id names the object, which is not noise
        return True
    match = _LAST_KEY.search(_TRAILING_INDEXES.sub("", path))
    if match is None:
        return False
    key = json.loads(match[1]) if match[1] else match[2]
    low = key.lower()
    return (low in _NOISY_KEYS or low.endswith(("_at", "timestamp")) or "signature" in low
            or _CAMEL_AT.search(key) is not None)


_NOISY_HEADERS = frozenset({
    "date", "content-length", "x-request-id", "request-id", "x-correlation-id", "traceparent",
    "tracestate", "baggage", "sentry-trace", "x-amzn-trace-id", "x-cloud-trace-context", "cf-ray",
    "cf-connecting-ip", "x-real-ip", "forwarded", "via", "webhook-id", "svix-id", "idempotency-key",
})
_NOISY_HEADER_PREFIXES = ("x-forwarded-", "x-inspector-", "x-b3-")
_NOISY_HEADER_WORDS = ("signature", "timestamp", "delivery", "nonce")


def is_noisy_header(name: str) -> bool:
    """True for headers that differ on every delivery: dates, trace ids, proxies, signatures."""
    name = name.lower()
    return (name in _NOISY_HEADERS or name.startswith(_NOISY_HEADER_PREFIXES)
            or any(word in name for word in _NOISY_HEADER_WORDS))


def diff_headers(left: Sequence[tuple[str, str]], right: Sequence[tuple[str, str]]) -> list[Change]:
    """Header changes by case-insensitive name; repeated headers compare as their value lists."""
    left_values, right_values = _header_values(left), _header_values(right)
    names = [*left_values, *(name for name in right_values if name not in left_values)]
    changes = []
    for name in names:
        before, after = left_values.get(name), right_values.get(name)
        if before != after:
            op = "added" if before is None else "removed" if after is None else "changed"
            changes.append(Change(op, name, _joined(before), _joined(after), is_noisy_header(name)))
    return changes


def _header_values(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Values of each lowercased header name, in arrival order."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    return values


def _joined(values: list[str] | None) -> str | None:
    """Repeated header values as one, joined by ", " as HTTP combines them."""
    return None if values is None else ", ".join(values)


@dataclass(frozen=True)
class PayloadDiff:
    """Everything the diff view shows for two captured requests."""

    changes: list[Change]
    headers: list[Change]
    unified: str
    kind: str  # "json" | "text" | "binary"
    note: str | None = None
    rows: list[textdiff.Row] = field(default_factory=list)  # side-by-side view

    @property
    def left_lines(self) -> list[tuple[int | None, str | None, str]]:
        """Left column of the side-by-side rows: (lineno, text, tag)."""
        return [(row.left_lineno, row.left_text, row.tag) for row in self.rows]

    @property
    def right_lines(self) -> list[tuple[int | None, str | None, str]]:
        """Right column of the side-by-side rows: (lineno, text, tag)."""
        return [(row.right_lineno, row.right_text, row.tag) for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """The `GET /api/diff` shape plus kind and note; encode with dumps()."""
        return {"changes": [c.to_dict() for c in self.changes], "headers": [c.to_dict() for c in self.headers],
                "unified": self.unified, "kind": self.kind, "note": self.note}


def diff_payloads(left_body: bytes, right_body: bytes, left_content_type: str = "", right_content_type: str = "",
                  left_headers: Sequence[tuple[str, str]] = (), right_headers: Sequence[tuple[str, str]] = ()) -> PayloadDiff:
    """Diff two bodies (and their headers): structural if both are JSON, else text or binary."""
    return _diff_payloads(_as_bytes(left_body), _as_bytes(right_body), left_content_type or "",
                          right_content_type or "", diff_headers(left_headers, right_headers))


def _as_bytes(body: bytes | str | None) -> bytes:
    """A body as bytes: None is empty, text is UTF-8."""
    if body is None:
        return b""
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)


def _diff_payloads(left_body: bytes, right_body: bytes, left_content_type: str, right_content_type: str,
                   headers: list[Change]) -> PayloadDiff:
    """diff_payloads on bytes, with the header changes already made."""
    left_text, right_text = _as_text(left_body), _as_text(right_body)
    if left_text is None or right_text is None:
        return PayloadDiff([], headers, "", "binary", _binary_note(left_body, right_body))
    values, reason = _parse_both(left_text, right_text, left_content_type, right_content_type)
    if values is not None:
        try:
            compact = CompactCache()  # each element is encoded once, for both diffs
            changes = _diff_json(*values, compact)
            return _with_text(changes, headers, *json_lines(*values, compact), "json", None)
        except RecursionError:  # deep enough to parse, too deep to encode or pretty-print
            reason = "nested too deeply for a structural diff"
    a, b = textdiff.split_pair(left_text, right_text)
    return _with_text([], headers, a, b, textdiff.align(a, b), "text", reason)


def _as_text(body: bytes) -> str | None:
    """The body as text, or None when it is binary (NUL bytes or not UTF-8)."""
    if b"\x00" in body:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _binary_note(left: bytes, right: bytes) -> str:
    """Sizes and whether the bytes are the same, for bodies that cannot be shown as text."""
    same = hashlib.sha256(left).digest() == hashlib.sha256(right).digest()
    return f"binary, {len(left)} vs {len(right)} bytes, SHA-256 {'equal' if same else 'differs'}"


def _parse_both(left: str, right: str, left_type: str, right_type: str) -> tuple[tuple[Any, Any] | None, str | None]:
    """Both parsed JSON values, or None and the reason there is no structural diff."""
    left_media, right_media = _media_type(left_type), _media_type(right_type)
    if not left.strip() and not right.strip():
        return None, "both bodies are empty"
    if left_media and right_media and left_media != right_media and not (_is_json(left_media) and _is_json(right_media)):
        return None, f"content types differ ({left_media} vs {right_media}), so no structural diff"
    if _is_form(left_media) or _is_form(right_media):
        return None, f"{left_media or right_media} is not JSON, so no structural diff"
    values, problems = [], []
    for side, text in (("left", left), ("right", right)):
        try:
            values.append(parse_json(text))
        except JsonTooDeep as exc:
            problems.append(f"{side} body is {exc}")
        except ValueError as exc:
            problems.append(f"{side} body is not valid JSON: {exc}")
    return (None, "; ".join(problems)) if problems else ((values[0], values[1]), None)


def _media_type(content_type: str) -> str:
    """"application/json; charset=utf-8" -> "application/json"."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    """JSON media types, including vendor ones like application/vnd.api+json."""
    return media in ("application/json", "text/json") or media.endswith("+json")


def _is_form(media: str) -> bool:
    """Media types that are structured but not JSON, so never parsed as JSON."""
    return media == "application/x-www-form-urlencoded" or media.startswith("multipart/") or media.endswith("xml")


def _with_text(changes: list[Change], headers: list[Change], a: Sequence[str], b: Sequence[str],
               ops: list[textdiff.Opcode], kind: str, note: str | None) -> PayloadDiff:
    """Add the unified and side-by-side views; big bodies get hunks only, said in the note."""
    notes = [note] if note else []
    context = None
    if max(len(a), len(b)) > FULL_SIDE_BY_SIDE_LINES:
        context = CONTEXT_LINES
        notes.append(f"side-by-side shows changed lines with {context} lines of context ({len(a)} vs {len(b)} lines)")
    rows = textdiff.side_by_side(a, b, ops, context, limit=MAX_SIDE_BY_SIDE_ROWS + 1)
    if len(rows) > MAX_SIDE_BY_SIDE_ROWS:
        rows = rows[:MAX_SIDE_BY_SIDE_ROWS]
        notes.append(f"side-by-side stops after {MAX_SIDE_BY_SIDE_ROWS} rows")
    unified = textdiff.unified(a, b, ops, CONTEXT_LINES)
    return PayloadDiff(changes, headers, unified, kind, "; ".join(notes) or None, rows)
