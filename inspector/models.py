"""Stored data: endpoints, the requests captured on them, and resends."""
from __future__ import annotations

import secrets as _secrets
from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .signatures import DEFAULT_HEADER


class Base(DeclarativeBase):
    """Declarative base; naming convention keeps Alembic's batch mode happy on SQLite."""

    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


db = SQLAlchemy(model_class=Base)

# SQLite only autoincrements INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Ids are 64-bit signed on both stores: a larger number names no row, and binding
# it would overflow the driver instead of finding nothing.
MAX_ID = 2**63 - 1


def utcnow() -> datetime:
    """Timezone-aware UTC now, microsecond precision."""
    return datetime.now(timezone.utc)


def new_token() -> str:
    """A capture token: 192 random bits, URL-safe, so the URL is a capability."""
    return _secrets.token_urlsafe(24)


class UTCDateTime(sa.TypeDecorator):
    """Stores UTC datetimes and hands them back timezone-aware on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        """SQLite forgets the zone; put UTC back."""
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Endpoint(db.Model):
    """A capture URL with its signature settings and where to forward to."""

    __tablename__ = "endpoints"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_token)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    # Several secrets so a rotation can be tested: any of them verifies.
    secrets: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    signature_header: Mapped[str] = mapped_column(sa.String(100), default=DEFAULT_HEADER)
    forward_url: Mapped[Optional[str]] = mapped_column(sa.Text)
    auto_forward: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    response_status: Mapped[int] = mapped_column(sa.Integer, default=200)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def secret_hint(self) -> Optional[str]:
        """The last 4 characters of the current secret, the only part ever shown."""
        if not self.secrets:
            return None
        return "…" + self.secrets[0][-4:]


class CapturedRequest(db.Model):
    """One request as it arrived on a capture URL, body byte-exact."""

    __tablename__ = "captured_requests"
    __table_args__ = (
        # The list, newest first. It carries the signature status and event type, so
        # those filters read only this index: an index of their own would be one more
        # B-tree to update in every capture's write (migration 5b8e2f0a6c14).
        sa.Index("ix_captured_endpoint_list", "endpoint_id", "id", "signature_status",
                 "event_type"),
        # With id last, "the first request with this event id" is one index probe:
        # without it PostgreSQL answered min(id) by walking the endpoint's rows.
        sa.Index("ix_captured_endpoint_event", "endpoint_id", "event_id", "id"),
        sa.Index("ix_captured_endpoint_object", "endpoint_id", "resource_type", "resource_id", "id"),
        # Ids are never reused after a clear: live streams and links rely on it.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("endpoints.id", ondelete="CASCADE"), index=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(sa.String(32))
    path: Mapped[str] = mapped_column(sa.Text, default="/")
    query: Mapped[str] = mapped_column(sa.Text, default="")
    # Ordered [name, value] pairs, repeats kept: a dict would lose both.
    headers: Mapped[list[list[str]]] = mapped_column(sa.JSON, default=list)
    content_type: Mapped[str] = mapped_column(sa.Text, default="")
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    body_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")
    rejected: Mapped[Optional[str]] = mapped_column(sa.String(32))
    event_id: Mapped[Optional[str]] = mapped_column(sa.String(200))
    event_type: Mapped[Optional[str]] = mapped_column(sa.String(200))
    event_known: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    resource_type: Mapped[Optional[str]] = mapped_column(sa.String(200))
    resource_id: Mapped[Optional[str]] = mapped_column(sa.String(200))
    signature_status: Mapped[str] = mapped_column(sa.String(16))
    signature: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    duplicate_of: Mapped[Optional[int]] = mapped_column(BigId)
    # Last, as on SQLite (migration 4f6d8b2e0a17): a big body is written into its
    # row in place, which SQLite can do without building it in memory only there.
    body: Mapped[bytes] = mapped_column(sa.LargeBinary, default=b"")



class Resend(db.Model):
    """One attempt to send a captured request (as is or edited) to the user's app."""

    __tablename__ = "resends"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("captured_requests.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    url: Mapped[str] = mapped_column(sa.Text)
    method: Mapped[str] = mapped_column(sa.String(32))
    body_sha256: Mapped[str] = mapped_column(sa.String(64))
    resigned: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    edited: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    trigger: Mapped[str] = mapped_column(sa.String(16), default="manual")
    status_code: Mapped[Optional[int]] = mapped_column(sa.Integer)
    error: Mapped[Optional[str]] = mapped_column(sa.Text)
    duration_ms: Mapped[Optional[float]] = mapped_column(sa.Float)
    response_headers: Mapped[list[list[str]]] = mapped_column(sa.JSON, default=list)
    response_body: Mapped[bytes] = mapped_column(sa.LargeBinary, default=b"")
    response_truncated: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class ForwardCursor(db.Model):
    """Auto-forward progress of one endpoint and the lease of the process sending for it."""

    __tablename__ = "forward_cursors"

    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True)
    # The last request sent (its txid too on PostgreSQL, as live.Cursor).
    request_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    txid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    owner: Mapped[Optional[str]] = mapped_column(sa.String(100))
    lease_expires: Mapped[float] = mapped_column(sa.Float, default=0.0)


class BulkReplay(db.Model):
    """A replay of many requests, oldest first; progress lives here so any worker can show it."""

    __tablename__ = "bulk_replays"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("endpoints.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(sa.Text)
    append_path: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    pacing: Mapped[str] = mapped_column(sa.String(16), default="fast")
    filter: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    request_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    succeeded: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    state: Mapped[str] = mapped_column(sa.String(16), default="running")
    owner: Mapped[Optional[str]] = mapped_column(sa.String(100))
    lease_expires: Mapped[float] = mapped_column(sa.Float, default=0.0)
    error: Mapped[Optional[str]] = mapped_column(sa.Text)
