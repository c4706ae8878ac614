"""How two texts are diffed, fast on 5 MiB bodies: opcodes, unified text, side by side.

difflib.SequenceMatcher takes ~30 s on two 5 MiB pretty JSON bodies (their
repeated lines make it quadratic). `align` trims the common ends, anchors on
items found once on each side (patience diff), and leaves difflib small gaps.
`inspector.jsontext` turns JSON values into the lines diffed here.
"""
from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from difflib import SequenceMatcher
from typing import NamedTuple

Opcode = tuple[str, int, int, int, int]

# Gaps with no unique anchor go to difflib only below this many item pairs
# (its worst case is about n*m); larger ones are reported as one replace block.
SMALL_GAP = 250_000
# Below this many item pairs difflib is cheaper than looking for anchors first.
TINY_GAP = 400
ANCHOR_STEP = 16


def merge_equal(ops: list[Opcode]) -> list[Opcode]:
    """Join consecutive equal opcodes into one."""
    merged: list[Opcode] = []
    for op in ops:
        if merged and op[0] == merged[-1][0] == "equal":
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    return merged


class Row(NamedTuple):
    """One row of a side-by-side view; a missing side is None."""

    left_lineno: int | None
    left_text: str | None
    right_lineno: int | None
    right_text: str | None
    tag: str  # "equal" | "replace" | "delete" | "insert"


def align(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    """Opcodes turning a into b, shaped like SequenceMatcher.get_opcodes()."""
    if len(a) == len(b) and a == b:  # common for small lists, and cheap to rule out
        return [("equal", 0, len(a), 0, len(b))] if a else []
    blocks: list[tuple[int, int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = _trim(a, b, *stack.pop(), blocks)
        if alo == ahi or blo == bhi:
            continue
        pairs = (ahi - alo) * (bhi - blo)
        anchors = _unique_anchors(a, b, alo, ahi, blo, bhi) if pairs > TINY_GAP else []
        if anchors:
            stack += _gaps_between(anchors, alo, ahi, blo, bhi, blocks)
        elif pairs <= SMALL_GAP:
            matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            blocks += [(alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n]
    blocks.sort()
    return _to_opcodes(blocks, len(a), len(b))


def _trim(a, b, alo: int, ahi: int, blo: int, bhi: int, blocks: list) -> tuple[int, int, int, int]:
    """Record the common head and tail of a gap as matches; return the rest of the gap."""
    if ahi - alo == bhi - blo and a[alo:ahi] == b[blo:bhi]:  # whole gap equal: one C compare
        if ahi > alo:
            blocks.append((alo, blo, ahi - alo))
        return ahi, ahi, bhi, bhi
    head, limit = 0, min(ahi - alo, bhi - blo)
    while head < limit and a[alo + head] == b[blo + head]:
        head += 1
    tail, limit = 0, limit - head
    while tail < limit and a[ahi - 1 - tail] == b[bhi - 1 - tail]:
        tail += 1
    blocks += [block for block in ((alo, blo, head), (ahi - tail, bhi - tail, tail)) if block[2]]
    return alo + head, ahi - tail, blo + head, bhi - tail


def _unique_anchors(a, b, alo: int, ahi: int, blo: int, bhi: int) -> list[tuple[int, int]]:
    """An in-order chain of (i, j) pairs of items found once on each side of the gap."""
    a_slice, b_slice = a[alo:ahi], b[blo:bhi]
    a_counts, b_counts = Counter(a_slice), Counter(b_slice)
    if len(a_counts) == len(a_slice) and len(b_counts) == len(b_slice):  # all unique: C all the way
        where_in_b = dict(zip(b_slice, range(blo, bhi)))
    else:
        where_in_b = {item: j for j, item in enumerate(b_slice, blo) if b_counts[item] == 1 and a_counts[item] == 1}
    # Every 16th item of a is enough: gaps between anchors are mostly equal, which one C
    # compare in _trim settles; the few that are not get anchors of their own.
    for step in (ANCHOR_STEP, 1) if len(a_slice) > 64 * ANCHOR_STEP else (1,):
        found = map(where_in_b.get, a_slice[::step])
        pairs = [(i, j) for i, j in zip(range(alo, ahi, step), found) if j is not None]
        if pairs:
            break
    in_b_order = [j for _, j in pairs]
    if in_b_order == sorted(in_b_order):  # nothing moved, the usual case: all pairs chain up
        return pairs
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of pairs (sorted by i) whose j also increases: patience sorting."""
    tails: list[int] = []  # smallest j ending an increasing chain of each length
    tail_at: list[int] = []  # index in pairs of that chain end
    previous = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_at.append(k)
        else:
            tails[pos], tail_at[pos] = j, k
        previous[k] = tail_at[pos - 1] if pos else -1
    chain, k = [], tail_at[-1]
    while k >= 0:
        chain.append(pairs[k])
        k = previous[k]
    return chain[::-1]


def _gaps_between(anchors, alo: int, ahi: int, blo: int, bhi: int, blocks: list) -> list[tuple[int, int, int, int]]:
    """Record runs of adjacent anchors as matches; return the gaps around them, still to align."""
    gaps, i0, j0 = [], alo, blo
    for i, j in anchors:
        if i == i0 and j == j0 and blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
            blocks[-1] = (blocks[-1][0], blocks[-1][1], blocks[-1][2] + 1)  # extends the previous run
        else:
            blocks.append((i, j, 1))
            if i > i0 or j > j0:
                gaps.append((i0, i, j0, j))
        i0, j0 = i + 1, j + 1
    if ahi > i0 or bhi > j0:
        gaps.append((i0, ahi, j0, bhi))
    return gaps


def _to_opcodes(blocks: list[tuple[int, int, int]], len_a: int, len_b: int) -> list[Opcode]:
    """Opcodes from sorted matching blocks, merging adjacent equal runs."""
    ops: list[Opcode] = []
    i = j = 0
    for bi, bj, size in [*blocks, (len_a, len_b, 0)]:
        if i < bi or j < bj:
            tag = "replace" if i < bi and j < bj else "delete" if i < bi else "insert"
            ops.append((tag, i, bi, j, bj))
        if size:
            ops.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return merge_equal(ops)


def grouped(ops: list[Opcode], context: int = 3) -> Iterator[list[Opcode]]:
    """Hunks of changes with `context` equal items around them, as difflib groups them."""
    codes = list(ops)
    if codes and codes[0][0] == "equal":
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes and codes[-1][0] == "equal":
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group, i1, j1 = [], max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def unified(a: Sequence[str], b: Sequence[str], ops: list[Opcode], context: int = 3) -> str:
    """Unified diff text ("--- left", "+++ right", "@@" hunks); "" when nothing differs."""
    out: list[str] = []
    for group in grouped(ops, context):
        if not out:
            out += ["--- left\n", "+++ right\n"]
        (_, x, _, y, _), (_, _, x2, _, y2) = group[0], group[-1]
        out.append(f"@@ -{_range(x, x2)} +{_range(y, y2)} @@\n")
        left, right = a[x:x2], b[y:y2]  # one slice per hunk: a and b may build lines lazily
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [f" {line}\n" for line in left[i1 - x:i2 - x]]
                continue
            out += [f"-{line}\n" for line in left[i1 - x:i2 - x]]
            out += [f"+{line}\n" for line in right[j1 - y:j2 - y]]
    return "".join(out)


def _range(start: int, stop: int) -> str:
    """A hunk range as difflib writes it: "3", "3,4" or "2,0" for an empty one."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def side_by_side(a: Sequence[str], b: Sequence[str], ops: list[Opcode], context: int | None = None,
                 limit: int | None = None) -> list[Row]:
    """Rows pairing left and right lines: all of them, or the hunks with `context`
    lines around changes; at most `limit` rows, reading no more lines than needed."""
    room = len(a) + len(b) if limit is None else limit
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in itertools.chain.from_iterable([ops] if context is None else grouped(ops, context)):
        if len(rows) >= room:
            break
        left, right = a[i1:min(i2, i1 + room - len(rows))], b[j1:min(j2, j1 + room - len(rows))]
        paired = min(len(left), len(right)) if tag in ("equal", "replace") else 0
        rows += [Row(i1 + k + 1, left[k], j1 + k + 1, right[k], tag) for k in range(paired)]
        rows += [Row(i1 + k + 1, left[k], None, None, "delete") for k in range(paired, len(left))]
        rows += [Row(None, None, j1 + k + 1, right[k], "insert") for k in range(paired, len(right))]
    return rows[:room]


class LineEnds(NamedTuple):
    """How a text's lines end: CRLF, a bare LF, or a lone CR (no LF after it: not a line end)."""

    crlf: int
    lf: int
    cr: int

    @property
    def newlines(self) -> int:
        """Lines 1 to this one end with an LF (the last line of a text may end with nothing)."""
        return self.crlf + self.lf

    @property
    def style(self) -> str:
        """"CRLF", "LF", "mixed" (both) or "none" (a single line)."""
        if self.crlf and self.lf:
            return "mixed"
        return "CRLF" if self.crlf else "LF" if self.lf else "none"

    def describe(self) -> str:
        """The style for people: "CRLF", or "mixed (3 CRLF, 1 LF)"."""
        return f"mixed ({self.crlf} CRLF, {self.lf} LF)" if self.style == "mixed" else self.style


def line_ends(text: str | bytes) -> LineEnds:
    """Count a text's line ends; UTF-8 bytes count the same as their text (CR and LF are
    single bytes that no other character's encoding contains)."""
    cr, lf = ("\r", "\n") if isinstance(text, str) else (b"\r", b"\n")
    crlf = text.count(cr + lf)
    return LineEnds(crlf, text.count(lf) - crlf, text.count(cr) - crlf)


def split_pair(left: str, right: str) -> tuple[list[str], list[str]]:
    """Lines of both texts; a final newline on both sides adds no empty last line."""
    a, b = (text.split("\n") if text else [] for text in (left, right))
    if left.endswith("\n") and right.endswith("\n"):
        a.pop()
        b.pop()
    return a, b
