"""JSON as text, exactly: parse and encode numbers as received, pretty-print fast.

* `JsonNumber` keeps a number's received spelling; `parse_json` reads bodies with
  it, `dumps` writes it back unchanged (use it for every answer holding one).
* `pretty_json` writes indent 2, sorted keys, non-ASCII kept, numbers as received.
  json.dumps(indent=2) runs in pure Python (0.3 s per 5 MiB), so `_pretty` drives
  the C encoder once per container instead.
* Big JSON bodies are never pretty-printed whole: `json_lines` cuts each side into
  pieces (one per element of the big containers), aligns the pieces on their
  compact encoding, and builds and diffs lines only where pieces differ;
  `PrettyLines` builds other lines only when a hunk shows them.
"""
from __future__ import annotations

import bisect
import itertools
import json
import re
import secrets
from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from .textdiff import Opcode, align, merge_equal

# Containers whose compact JSON is longer than this are cut into pieces per child.
PIECE_BYTES = 4096


class JsonTooDeep(ValueError):
    """The body nests deeper than Python's json parser can go."""


class JsonNumber:
    """A JSON number with a fraction or exponent, kept as the exact text received."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"JsonNumber({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __float__(self) -> float:
        return float(self.text)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JsonNumber):
            return NotImplemented
        return self.text == other.text or Decimal(self.text) == Decimal(other.text)

    def __hash__(self) -> int:
        return hash(Decimal(self.text))


# A random mark lets a JsonNumber pass through json's encoder as a string and be
# swapped back for its exact text afterwards; no received string can know it.
_MARK = "\x00" + secrets.token_hex(8) + "#"
_MARKED_NUMBER = re.compile(r'"\\u0000' + _MARK[1:] + r'([-+.0-9eE]+)"')
_PLACEHOLDER = _MARK + "child"
_PLACEHOLDER_JSON = json.dumps(_PLACEHOLDER)
# Values pretty JSON writes on one line (with empty containers).
SCALAR_TYPES = frozenset({str, int, float, bool, type(None), JsonNumber})


def mark_number(value: Any) -> str:
    """Encoder `default`: a JsonNumber becomes a marked string; restore_numbers undoes it."""
    if isinstance(value, JsonNumber):
        return _MARK + value.text
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def restore_numbers(text: str) -> str:
    """Replace the marked strings of encoded JsonNumbers by their exact text."""
    return _MARKED_NUMBER.sub(r"\1", text) if _MARK[1:] in text else text


def parse_json(body: bytes | str) -> Any:
    """Parse a JSON body exactly; ValueError (JsonTooDeep if too deep) says why not."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    text = body[1:] if body.startswith("\ufeff") else body  # RFC 8259 lets parsers skip a BOM
    if not text.strip():
        raise ValueError("empty body")
    try:
        return json.loads(text, parse_float=JsonNumber, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JsonTooDeep("nested too deeply for a structural diff") from None


def _reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which Python's json accepts and JSON does not have."""
    raise ValueError(f"{name} is not a JSON value")


def dumps(obj: Any, **kwargs: Any) -> str:
    """json.dumps that writes each JsonNumber as its exact text: use it for API answers."""
    fallback: Callable[[Any], Any] | None = kwargs.pop("default", None)

    def default(value: Any) -> Any:
        """Mark JsonNumbers; hand anything else to the caller's default."""
        if fallback is None or isinstance(value, JsonNumber):
            return mark_number(value)
        return fallback(value)

    return restore_numbers(json.dumps(obj, default=default, **kwargs))


def json_default(value: Any) -> Any:
    """`default=` for a plain json.dumps: JsonNumber as float, so its spelling may change."""
    if isinstance(value, JsonNumber):
        return float(value.text)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@lru_cache(maxsize=None)
def encoder(item_separator: str, ascii_only: bool = False) -> Callable[[Any], str]:
    """A reusable sorted-keys JSON encoder with marked numbers (the C one when there is one)."""
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pure-Python builds: same output, slower
        return json.JSONEncoder(ensure_ascii=ascii_only, sort_keys=True, default=mark_number,
                                separators=(item_separator, ": ")).encode
    strings = json.encoder.encode_basestring_ascii if ascii_only else json.encoder.encode_basestring
    encode = c_make_encoder(None, mark_number, strings, None, ": ", item_separator, True, False, True)
    return lambda value: "".join(encode(value, 0))


class CompactCache:
    """Canonical compact JSON of values, each encoded once per diff (equal text = equal value)."""

    def __init__(self) -> None:
        self._by_id: dict[int, str] = {}  # the values outlive the cache, so ids stay theirs
        self._encode = encoder(",", ascii_only=True)  # ASCII escaping is the faster C path

    def __call__(self, value: Any) -> str:
        """Sorted-keys, ASCII-only compact JSON of value, numbers marked."""
        found = self._by_id.get(id(value))
        if found is None:
            found = self._by_id[id(value)] = self._encode(value)
        return found

    def key(self, value: Any) -> Hashable:
        """Identity of a value: equal keys mean equal JSON text. Scalars skip the encoder,
        and keys are str or int, whose hashes are cheap (a tuple's is not cached)."""
        kind = type(value)
        if kind is int:
            return value  # the only int keys: True, 1.0 and "1" get keys of other forms
        if kind is str:
            return json.encoder.encode_basestring_ascii(value)  # quoted, unlike encoded containers
        if kind is JsonNumber:
            return _MARK + value.text
        if kind in SCALAR_TYPES:  # bool, None, float (repr keeps 0.0 and -0.0 apart)
            return _MARK + repr(value)
        return self(value)


def pretty_json(value: Any) -> str:
    """JSON text indented by 2 with sorted keys, non-ASCII kept, numbers as received."""
    return restore_numbers(_pretty(value, 0))


def _has_lines(value: Any) -> bool:
    """True for a non-empty container, which pretty JSON spreads over several lines."""
    return type(value) not in SCALAR_TYPES and bool(value)


def _is_flat(value: Any) -> bool:
    """True for a container of scalars only: one C call prints it, align() diffs its lines."""
    return SCALAR_TYPES.issuperset(map(type, value.values() if isinstance(value, dict) else value))


def _pretty(value: Any, level: int) -> str:
    """Pretty text at a nesting level: each container is one C encoder call with
    ",\\n" + indent as item separator, its multi-line children put in afterwards."""
    if not _has_lines(value):
        return encoder(", ")(value)
    if _is_flat(value):
        return _indented(encoder(",\n" + "  " * (level + 1))(value), level)
    is_dict = isinstance(value, dict)
    slots = sorted(value) if is_dict else range(len(value))
    nested = [value[slot] for slot in slots if _has_lines(value[slot])]
    shallow = value
    if nested:
        marked = [_PLACEHOLDER if _has_lines(value[slot]) else value[slot] for slot in slots]
        shallow = dict(zip(slots, marked)) if is_dict else marked
    parts = _indented(encoder(",\n" + "  " * (level + 1))(shallow), level).split(_PLACEHOLDER_JSON)
    out = [parts[0]]
    for child, part in zip(nested, parts[1:]):
        out += (_pretty(child, level + 1), part)
    return "".join(out)


def _indented(text: str, level: int) -> str:
    """Put the first item and the closing bracket of an encoded container on lines of their own."""
    pad = "\n" + "  " * level
    return text[0] + pad + "  " + text[1:-1] + pad + text[-1]


def line_count(value: Any) -> int:
    """Number of lines of pretty_json(value), without building the text."""
    if type(value) in SCALAR_TYPES or not value:
        return 1
    if _is_flat(value):
        return 2 + len(value)
    total = 2 + len(value)
    for child in value.values() if isinstance(value, dict) else value:
        if type(child) not in SCALAR_TYPES and child:  # _has_lines, inlined: this runs per value
            total += line_count(child) - 1
    return total


class Piece(NamedTuple):
    """A run of whole lines of pretty JSON: one child of a big container, or a bracket line."""

    key: Hashable  # equal keys mean equal text
    value: Any
    level: int
    prefix: str  # '"name": ' for an object member
    suffix: str  # "," unless last
    line: str | None = None  # the text of a bracket line
    size: int | None = None  # lines, when known without counting

    def text(self) -> str:
        """The piece's lines, joined by newlines."""
        if self.line is not None:
            return self.line
        return "  " * self.level + self.prefix + restore_numbers(_pretty(self.value, self.level)) + self.suffix


def pieces(value: Any, compact: CompactCache) -> list[Piece]:
    """Cut the pretty text of value into pieces; the root and big containers open up."""
    if not _has_lines(value) or _is_flat(value):
        return [Piece(compact.key(value), value, 0, "", "", None, 1 if not _has_lines(value) else None)]
    out: list[Piece] = []
    stack: list[Any] = [(value, 0, "", "")]
    while stack:
        item = stack.pop()
        if isinstance(item, Piece):
            out.append(item)
        else:
            stack += reversed(_opened(*item, compact))
    return out


def _opens(value: Any, compact: CompactCache) -> bool:
    """Whether a child container is cut into pieces too: big, and not flat."""
    return (len(value) > 64 or len(compact(value)) > PIECE_BYTES) and not _is_flat(value)


def _opened(value: Any, level: int, prefix: str, suffix: str, compact: CompactCache) -> list[Any]:
    """Opening line, a piece per child (big children still to open), closing line."""
    pad = "  " * level
    if isinstance(value, dict):
        opening, closing, slots = "{", "}", sorted(value)
        prefixes = [json.encoder.encode_basestring(slot) + ": " for slot in slots]
    else:
        opening, closing, slots, prefixes = "[", "]", range(len(value)), itertools.repeat("")
    items: list[Any] = [Piece(("line", pad + prefix + opening), None, level, "", "", pad + prefix + opening, 1)]
    last, level = len(slots) - 1, level + 1
    for k, (slot, name) in enumerate(zip(slots, prefixes)):
        child, comma = value[slot], "," if k < last else ""
        if not _has_lines(child):
            items.append(Piece((level, name, compact.key(child), comma), child, level, name, comma, None, 1))
        elif _opens(child, compact):
            items.append((child, level, name, comma))
        else:
            items.append(Piece((level, name, compact(child), comma), child, level, name, comma))
    items.append(Piece(("line", pad + closing + suffix), None, level - 1, "", "", pad + closing + suffix, 1))
    return items


class PrettyLines(Sequence):
    """The lines of a value's pretty JSON, built piece by piece only when read."""

    def __init__(self, parts: list[Piece], counts: dict[Hashable, int]) -> None:
        self.parts = parts
        self.keys = [part.key for part in parts]
        sizes = (part.size or self._count(part, counts) for part in parts)
        self.offsets = list(itertools.accumulate(sizes, initial=0))
        self._lines: dict[int, list[str]] = {}

    @staticmethod
    def _count(part: Piece, counts: dict[Hashable, int]) -> int:
        """Lines in a piece, counted once per distinct piece across both sides."""
        found = counts.get(part.key)
        if found is None:
            found = counts[part.key] = line_count(part.value)
        return found

    def __len__(self) -> int:
        return self.offsets[-1]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return self._range(start, stop) if step == 1 else [self[i] for i in range(start, stop, step)]
        if not -len(self) <= index < len(self):
            raise IndexError("line index out of range")
        index %= len(self)
        part = bisect.bisect_right(self.offsets, index) - 1
        return self.part_lines(part)[index - self.offsets[part]]

    def _range(self, start: int, stop: int) -> list[str]:
        """Lines start..stop, a piece at a time."""
        out: list[str] = []
        part = bisect.bisect_right(self.offsets, start) - 1
        while start < stop:
            taken = self.part_lines(part)[start - self.offsets[part]:stop - self.offsets[part]]
            out += taken
            start, part = start + len(taken), part + 1
        return out

    def part_lines(self, part: int) -> list[str]:
        """The lines of one piece, built on first use."""
        lines = self._lines.get(part)
        if lines is None:
            lines = self._lines[part] = self.parts[part].text().split("\n")
        return lines


def json_lines(left: Any, right: Any, compact: CompactCache) -> tuple[PrettyLines, PrettyLines, list[Opcode]]:
    """Pretty lines of two JSON values and line opcodes, aligned piece by piece."""
    counts: dict[Hashable, int] = {}
    a, b = PrettyLines(pieces(left, compact), counts), PrettyLines(pieces(right, compact), counts)
    ops: list[Opcode] = []
    for tag, i1, i2, j1, j2 in align(a.keys, b.keys):
        if tag == "equal":
            ops.append((tag, a.offsets[i1], a.offsets[i2], b.offsets[j1], b.offsets[j2]))
        elif tag == "replace" and i2 - i1 == j2 - j1:  # edited pieces: diff each with its pair
            for k in range(i2 - i1):
                ops += _line_ops(a, b, i1 + k, i1 + k + 1, j1 + k, j1 + k + 1, _edited_lines)
        else:
            ops += _line_ops(a, b, i1, i2, j1, j2, align)
    return a, b, merge_equal(ops)


def _line_ops(a: PrettyLines, b: PrettyLines, i1: int, i2: int, j1: int, j2: int,
              how: Callable[[list[str], list[str]], list[Opcode]]) -> list[Opcode]:
    """Line opcodes between pieces i1..i2 of a and j1..j2 of b."""
    x, y = a.offsets[i1], b.offsets[j1]
    found = how(a[x:a.offsets[i2]], b[y:b.offsets[j2]])
    return [(tag, x + p1, x + p2, y + q1, y + q2) for tag, p1, p2, q1, q2 in found]


def _edited_lines(left: list[str], right: list[str]) -> list[Opcode]:
    """Opcodes for an edited piece: line by line if it kept its shape, else align()."""
    if len(left) != len(right) or len(left) > 1000 or 2 * sum(x != y for x, y in zip(left, right)) > len(left):
        return align(left, right)
    ops: list[Opcode] = []
    for same, run in itertools.groupby(range(len(left)), key=lambda k: left[k] == right[k]):
        start, *rest = run
        stop = (rest[-1] if rest else start) + 1
        ops.append(("equal" if same else "replace", start, stop, start, stop))
    return ops


