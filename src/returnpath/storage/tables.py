"""The tables of DESIGN.md §4 as SQLAlchemy 2 models. Migrations in migrations/ must agree.

Timestamps are stored in UTC and always read back as timezone-aware datetimes, on SQLite
(which has no zone type) as well as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: returnpath stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ContactStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class UnsubscribeReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    SOFT_LIMIT = "soft_limit"
    CORRECTED = "corrected"  # the old address of a corrected contact stays suppressed


class HistoryChange(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    REENABLED = "reenabled"
    ADDRESS_CORRECTED = "address_corrected"  # on the old contact: replaced by a new address
    CORRECTED_FROM = "corrected_from"  # on the new contact: subscribed as a correction


class DeferralState(StrEnum):
    PENDING = "pending"
    RESOLVED = "resolved"
    EXPIRED = "expired"


class DeferralKeyKind(StrEnum):
    """What a deferral's `original_key` is (see record.deferral_key)."""

    ORIGINAL_MESSAGE_ID = "original_message_id"
    RETURNED_MESSAGE_ID = "returned_message_id"
    SHA256 = "sha256"


class EventOrigin(StrEnum):
    MESSAGE = "message"  # read from a returned message
    EXPIRY = "expiry"  # made by expire_deferrals from a deferral that never resolved


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


class MessageRow(Base):
    """One returned mail. Unique per mailbox key and per content hash."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("source", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))  # mailbox name, or "file"
    folder: Mapped[str] = mapped_column(String(255))
    # 0 when the source has no UIDVALIDITY (IMAP never uses 0), so the unique key holds.
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)  # None for files: sha256 is the key
    path: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(Text)
    original_message_id: Mapped[str | None] = mapped_column(Text)
    verp: Mapped[str] = mapped_column(String(10))
    defects: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_encoding: Mapped[str | None] = mapped_column(String(10))  # "zlib", "identity" or None


class ContactRow(Base):
    """One recipient address, normalised (lower-cased), with its status and counters."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    unsubscribe_reason: Mapped[str | None] = mapped_column(String(20))
    unsubscribed_at: Mapped[datetime | None]
    # Plain ids, not foreign keys: events already point at contacts, and a cycle of foreign
    # keys would make inserts order-dependent on every backend.
    unsubscribe_event_id: Mapped[int | None] = mapped_column(Integer)
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    last_event_at: Mapped[datetime | None]
    last_category: Mapped[str | None] = mapped_column(String(20))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    hard_count: Mapped[int] = mapped_column(Integer, default=0)
    soft_count: Mapped[int] = mapped_column(Integer, default=0)
    block_count: Mapped[int] = mapped_column(Integer, default=0)
    deferral_count: Mapped[int] = mapped_column(Integer, default=0)
    auto_reply_count: Mapped[int] = mapped_column(Integer, default=0)
    delivered_count: Mapped[int] = mapped_column(Integer, default=0)
    complaint_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EventRow(Base):
    """One verdict for one recipient of one message (or one expired deferral): the feed."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient"),
        Index("ix_events_occurred_at", "occurred_at"),
        Index("ix_events_recipient", "recipient"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(10))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # Set on the one soft bounce an expired deferral becomes: unique, so it happens once.
    deferral_id: Mapped[int | None] = mapped_column(ForeignKey("deferrals.id"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    source: Mapped[str] = mapped_column(String(255))
    recipient: Mapped[str | None] = mapped_column(String(320))
    domain: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(30))
    rule: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(20))
    reply_code: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str | None] = mapped_column(String(20))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    remote_mta: Mapped[str | None] = mapped_column(Text)
    feedback_type: Mapped[str | None] = mapped_column(String(40))
    format: Mapped[str | None] = mapped_column(String(64))
    original_message_id: Mapped[str | None] = mapped_column(Text)
    campaign: Mapped[str | None] = mapped_column(String(255))
    contact_ref: Mapped[str | None] = mapped_column(String(255))  # the contact-id header
    trusted: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class ContactHistoryRow(Base):
    """One status change of a contact, with who made it, why, and the event that caused it."""

    __tablename__ = "contact_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    change: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    related_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    at: Mapped[datetime]


class DeferralRow(Base):
    """A delayed delivery of one original message to one recipient, until it resolves."""

    __tablename__ = "deferrals"
    __table_args__ = (
        UniqueConstraint("recipient", "original_key"),
        Index("ix_deferrals_state_first_seen", "state", "first_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    original_key: Mapped[str] = mapped_column(String(998))
    key_kind: Mapped[str] = mapped_column(String(30))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    source: Mapped[str] = mapped_column(String(255))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer)
    first_event_id: Mapped[int | None] = mapped_column(Integer)  # no FK: events -> deferrals
    state: Mapped[str] = mapped_column(String(10))
    resolution: Mapped[str | None] = mapped_column(String(20))  # the category that closed it
    resolved_at: Mapped[datetime | None]
    resolved_event_id: Mapped[int | None] = mapped_column(Integer)


class CheckpointRow(Base):
    """Where a mailbox folder was read up to."""

    __tablename__ = "checkpoints"

    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)  # 0: the source has none
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


metadata = Base.metadata
