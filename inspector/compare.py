"""What the diff views compare: two captured requests, two resend answers, or a request
and the previous one about the same object. No Flask: the views pass URLs in."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import defer

from .diff import Change, PayloadDiff, diff_payloads, dumps
from .jsontext import JsonNumber
from .models import CapturedRequest, Resend, db
from .render import from_unix, header_text, utc_iso
from .textdiff import Row

# The automatic context diffs bodies inline only up to this size; bigger gets a link.
INLINE_LIMIT = 1024 * 1024
# Values longer than this are cut in lists of changes (the API answer has them whole).
VALUE_CHARS = 300
# Unix seconds a `*_at` field may hold and still be shown as a date.
_TIMESTAMPS = (0, 253_402_300_799)


def diff_requests(left: CapturedRequest, right: CapturedRequest) -> PayloadDiff:
    """Bodies, content types and headers of two captured requests, diffed."""
    result = diff_payloads(left.body, right.body, left.content_type, right.content_type,
                           readable(left.headers), readable(right.headers))
    return with_notes(result, *(f"the {side} request's body was not stored (over the size limit)"
                                for side, req in (("left", left), ("right", right)) if req.rejected))


def readable(headers: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """Header values as the detail pane shows them (UTF-8 where their bytes decode): a
    diff is for reading, and stored values hold the bytes read as Latin-1."""
    return [(name, header_text(value)) for name, value in headers]


def response_content_type(headers: Sequence[Sequence[str]]) -> str:
    """The Content-Type a target answered with, or ""."""
    return next((value for name, value in headers if name.lower() == "content-type"), "")


def diff_resends(left: Resend, right: Resend) -> PayloadDiff:
    """What two resend attempts got back: response bodies and headers, plus status notes."""
    result = diff_payloads(left.response_body, right.response_body,
                           response_content_type(left.response_headers),
                           response_content_type(right.response_headers),
                           readable(left.response_headers), readable(right.response_headers))
    notes = []
    if (left.status_code, left.error) != (right.status_code, right.error):
        notes.append(f"answer {answer_line(left)} vs {answer_line(right)}")
    notes += [f"attempt #{a.id}'s answer was cut at the response size cap"
              for a in (left, right) if a.response_truncated]
    return with_notes(result, *notes)


def answer_line(attempt: Resend) -> str:
    """"status 200", or the error when the target never answered."""
    if attempt.status_code is not None:
        return f"status {attempt.status_code}"
    return f"no answer ({attempt.error})" if attempt.error else "no answer"


def with_notes(result: PayloadDiff, *notes: str) -> PayloadDiff:
    """The diff with notes put before the engine's own."""
    joined = [note for note in (*notes, result.note) if note]
    return dataclasses.replace(result, note="; ".join(joined) or None)


def without_noise(changes: Sequence[Change], hide: bool) -> list[Change]:
    """The changes, without the noisy ones when asked to hide them."""
    return [change for change in changes if not (hide and change.noisy)]


# ---- the previous request about the same object -------------------------------------

def previous_query(req: CapturedRequest) -> Optional[sa.Select]:
    """Newest request before this one on its endpoint about the same object (index
    ix_captured_endpoint_object), bodies deferred; None when the event names no object."""
    if not (req.resource_type and req.resource_id):
        return None
    cr = CapturedRequest
    return (sa.select(cr).options(defer(cr.body))
            .where(cr.endpoint_id == req.endpoint_id, cr.resource_type == req.resource_type,
                   cr.resource_id == req.resource_id, cr.id < req.id)
            .order_by(cr.id.desc()).limit(1))


def previous_request(req: CapturedRequest) -> Optional[CapturedRequest]:
    """The previous request about the same object, or None (first one seen, or no object)."""
    query = previous_query(req)
    return None if query is None else db.session.scalars(query).first()


def stored_size(req: CapturedRequest) -> int:
    """Bytes of body kept for a request (none for one refused as too large)."""
    return 0 if req.rejected else req.size or 0


@dataclass(frozen=True)
class ShownChange:
    """A change as a list shows it: values as short JSON text, timestamps with their date."""

    op: str
    path: str
    left: str
    right: str
    noisy: bool


@dataclass(frozen=True)
class ObjectContext:
    """The request's object and what changed since the previous request about it."""

    resource_type: str
    resource_id: str
    previous: Optional[CapturedRequest]
    diff: Optional[PayloadDiff]  # None when first seen, or when the bodies are too big
    limit: int = 12

    @property
    def too_big(self) -> bool:
        """There is a previous request, but the bodies are diffed only on the full page."""
        return self.previous is not None and self.diff is None

    @property
    def shown(self) -> list[ShownChange]:
        """The first changes as the panel lists them, the ones that are not noise first."""
        if not self.diff:
            return []
        return shown_changes(sorted(self.diff.changes, key=lambda change: change.noisy)[:self.limit])

    @property
    def more(self) -> int:
        """How many changes the panel leaves to the full diff page."""
        return max(0, len(self.diff.changes) - self.limit) if self.diff else 0


def object_context(req: CapturedRequest, inline_limit: int = INLINE_LIMIT) -> Optional[ObjectContext]:
    """What changed since the previous request about the request's object, or None without one."""
    if not (req.resource_type and req.resource_id):
        return None
    previous = previous_request(req)
    result = None
    if previous is not None and max(stored_size(previous), stored_size(req)) <= inline_limit:
        result = diff_requests(previous, req)
    return ObjectContext(req.resource_type, req.resource_id, previous, result)


# ---- values as lists show them ------------------------------------------------------

def shown_changes(changes: Sequence[Change]) -> list[ShownChange]:
    """Changes with display text for both sides ("" for the side where it is absent)."""
    return [ShownChange(c.op, c.path, "" if c.op == "added" else shown_value(c.path, c.left),
                        "" if c.op == "removed" else shown_value(c.path, c.right), c.noisy)
            for c in changes]


def shown_value(path: str, value: Any, limit: int = VALUE_CHARS) -> str:
    """Short JSON text of a value; a unix time in a `*_at` field also as a UTC date."""
    try:
        text = dumps(value, ensure_ascii=False)
    except (RecursionError, TypeError, ValueError):
        return "(nested too deeply to show)"
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text)} characters)"
    moment = _as_date(path, value)
    return f"{text} ({moment})" if moment else text


def _as_date(path: str, value: Any) -> Optional[str]:
    """The UTC date of a timestamp-looking field, or None."""
    if not path.endswith("_at") or isinstance(value, bool) or not isinstance(value, (int, float, JsonNumber)):
        return None
    try:
        seconds = float(value)
    except (OverflowError, ValueError):
        return None
    if not _TIMESTAMPS[0] <= seconds <= _TIMESTAMPS[1]:
        return None
    return utc_iso(from_unix(seconds))


@dataclass(frozen=True)
class SideRow:
    """A side-by-side row, and whether lines were skipped before it (hunks only)."""

    row: Row
    gap: bool


def side_rows(rows: Sequence[Row]) -> list[SideRow]:
    """Rows marked where their line numbers jump, so the page can show "⋯" there."""
    out, left, right = [], 0, 0
    for row in rows:
        gap = bool(out) and ((row.left_lineno or left + 1) != left + 1 or (row.right_lineno or right + 1) != right + 1)
        gap = gap or (not out and ((row.left_lineno or 1) > 1 or (row.right_lineno or 1) > 1))
        out.append(SideRow(row, gap))
        left, right = row.left_lineno or left, row.right_lineno or right
    return out
