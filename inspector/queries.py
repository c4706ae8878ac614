"""Reading captured requests back: filters, free-text search, paging."""
from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import sqlalchemy as sa

from .models import MAX_ID, CapturedRequest, db
from .signatures import STATUSES

# Lists and streams never need the body; it may be 25 MiB.
WITHOUT_BODY = sa.orm.defer(CapturedRequest.body)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# The fields of a filter, as query parameters, form fields and JSON members name them.
FILTER_FIELDS = ("event_type", "resource_type", "resource_id", "signature", "q")
_JSON_KINDS = {bool: "true or false", int: "a number", float: "a number", list: "a list",
               dict: "an object"}


class QueryError(ValueError):
    """A filter or paging parameter that makes no sense."""


@dataclass(frozen=True)
class RequestFilter:
    """What the user narrowed the list to; empty fields match everything."""

    event_type: str = ""
    resource_type: str = ""
    resource_id: str = ""
    signature: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "RequestFilter":
        """Build from query parameters, refusing unknown signature statuses."""
        found = cls(**{f: (args.get(f) or "").strip() for f in FILTER_FIELDS})
        if found.signature and found.signature not in STATUSES:
            raise QueryError(f"signature must be one of {', '.join(STATUSES)}.")
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RequestFilter":
        """Build from a JSON object's filter members (null is no filter). A value of
        another kind is refused: dropping it would widen the filter to every request."""
        for name in FILTER_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                kind = _JSON_KINDS.get(type(value), type(value).__name__)
                raise QueryError(f"{name} must be a string (one value to match), not {kind}.")
        return cls.from_args(data)

    def as_args(self) -> dict[str, str]:
        """The non-empty fields, for building URLs that keep the filter."""
        return {k: v for k, v in self.__dict__.items() if v}

    def apply(self, query: sa.Select) -> sa.Select:
        """Add this filter's conditions to a select of CapturedRequest."""
        cr = CapturedRequest
        if self.event_type:
            query = query.where(cr.event_type == self.event_type)
        if self.resource_type:
            query = query.where(cr.resource_type == self.resource_type)
        if self.resource_id:
            query = query.where(cr.resource_id == self.resource_id)
        if self.signature:
            query = query.where(cr.signature_status == self.signature)
        if self.q:
            query = query.where(_text_search(self.q))
        return query


def _pg_escape(raw: bytes) -> str:
    """The text PostgreSQL's encode(bytea, 'escape') makes of these bytes."""
    return "".join("\\\\" if b == 92 else f"\\{b:03o}" if b == 0 or b >= 128 else chr(b)
                   for b in raw)


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with '!' as the escape character."""
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


# Only A-Z fold: what SQLite's lower() does, so the needle must not fold more.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _text_search(needle: str) -> sa.ColumnElement[bool]:
    """Case-insensitive (for ASCII letters) substring match in the sub-path, the query,
    the headers and the body. The short columns come first: a match there spares
    reading the body."""
    lowered = needle.translate(_ASCII_LOWER)
    # Headers are stored as JSON text, which spells non-ASCII letters, quotes and
    # backslashes as escapes: the needle is looked for spelled the same way.
    in_json = json.dumps(lowered)[1:-1]
    if db.engine.dialect.name == "postgresql":
        # bytea has no ILIKE; its 'escape' text form keeps ASCII as is and
        # spells other bytes as octal, so the needle is spelled the same way.
        # COLLATE "C": ILIKE then folds ASCII only, byte by byte, as SQLite does;
        # under the database's locale it took 3x as long (500 ms at 25,000 rows).
        body = sa.func.encode(CapturedRequest.body, "escape").collate("C").ilike(
            _like_pattern(_pg_escape(lowered.encode())), escape="!")
        headers = sa.cast(CapturedRequest.headers, sa.Text).collate("C").ilike(
            _like_pattern(in_json), escape="!")
        url = [column.collate("C").ilike(_like_pattern(lowered), escape="!")
               for column in (CapturedRequest.path, CapturedRequest.query)]
        return sa.or_(*url, headers, body)
    # SQLite: instr() works on blobs; lower() folds ASCII, as ILIKE would.
    body = sa.func.instr(sa.func.lower(sa.cast(CapturedRequest.body, sa.Text)), lowered) > 0
    headers = sa.func.instr(sa.func.lower(CapturedRequest.headers), in_json) > 0
    url = [sa.func.instr(sa.func.lower(column), lowered) > 0
           for column in (CapturedRequest.path, CapturedRequest.query)]
    return sa.or_(*url, headers, body)


def parse_limit(raw: Optional[str]) -> int:
    """Page size from the query string, within bounds."""
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError("limit must be a whole number.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def parse_id(raw: Optional[str], name: str) -> Optional[int]:
    """An optional request id parameter."""
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a request id (a whole number).") from None
    if value < 0:
        raise QueryError(f"{name} must not be negative.")
    if value > MAX_ID:
        raise QueryError(f"{name} is too large to be a request id.")
    return value


def list_query(endpoint_id: int, where: RequestFilter, before: Optional[int],
               limit: int) -> sa.Select:
    """One page of the list, newest first, and one row more to tell if another follows.
    The signature and event-type filters are checked on ix_captured_endpoint_list's
    entries: only matching rows are read."""
    query = (sa.select(CapturedRequest).options(WITHOUT_BODY)
             .where(CapturedRequest.endpoint_id == endpoint_id))
    if before is not None:
        query = query.where(CapturedRequest.id < before)
    return where.apply(query).order_by(CapturedRequest.id.desc()).limit(limit + 1)


def list_requests(endpoint_id: int, where: RequestFilter, before: Optional[int],
                  limit: int) -> tuple[list[CapturedRequest], Optional[int]]:
    """Newest first; returns the page and the `before` id of the next page (or None)."""
    rows = db.session.scalars(list_query(endpoint_id, where, before, limit)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
