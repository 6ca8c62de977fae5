"""Read-side queries over the recorded returned messages, for explaining a verdict.

`message_view` gives one message with every event read from it; `list_messages` finds
messages (newest first) by category, kind, time, or because nothing was recognised in them.
Read only: nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, exists, func, select

from returnpath.model import Category, MessageKind
from returnpath.storage.errors import StorageError
from returnpath.storage.tables import EventRow, MessageRow

_messages: Table = MessageRow.__table__  # type: ignore[assignment]
_events: Table = EventRow.__table__  # type: ignore[assignment]

#: When a message arrived: the mailbox's time, else when it was recorded (always set).
_received = func.coalesce(_messages.c.received_at, _messages.c.recorded_at)


class MessageNotFound(StorageError):
    """Raised when an operation names a message id that has no row."""

    def __init__(self, message_id: int) -> None:
        self.message_id = message_id
        super().__init__(f"no message {message_id} in the database")


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One verdict read from a message: one recipient."""

    id: int
    recipient: str | None
    category: str
    reason: str | None
    rule: str | None
    status: str | None
    reply_code: str | None
    action: str | None
    diagnostic: str | None
    remote_mta: str | None
    feedback_type: str | None
    original_message_id: str | None
    trusted: bool
    occurred_at: datetime

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        data["occurred_at"] = self.occurred_at.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class MessageView:
    """One recorded message, its key, what parse() made of it, and its events."""

    id: int
    source: str
    folder: str
    uidvalidity: int | None  # None: the source has none (stored as 0)
    uid: int | None
    path: str | None
    message_id: str | None
    sha256: str
    size: int
    received_at: datetime | None
    recorded_at: datetime
    kind: str
    format: str
    subject: str | None
    sender: str | None
    original_message_id: str | None
    verp: str
    defects: tuple[str, ...]
    raw_stored: bool
    events: tuple[MessageEvent, ...]

    @property
    def unparsed(self) -> bool:
        """Nothing recognised: the poller put it in the unparsed folder, for review."""
        return self.kind == MessageKind.UNKNOWN.value or not self.events

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        data["received_at"] = self.received_at.isoformat() if self.received_at else None
        data["recorded_at"] = self.recorded_at.isoformat()
        data["defects"] = list(self.defects)
        data["events"] = [e.as_dict() for e in self.events]
        data["unparsed"] = self.unparsed
        return data


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """One line of `messages list`."""

    id: int
    received_at: datetime  # the mailbox's time, else when it was recorded
    source: str
    folder: str
    path: str | None
    kind: str
    subject: str | None
    recipients: int  # events read from the message
    first_category: str | None
    first_reason: str | None

    @property
    def unparsed(self) -> bool:
        return self.kind == MessageKind.UNKNOWN.value or self.recipients == 0

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        data["received_at"] = self.received_at.isoformat()
        data["unparsed"] = self.unparsed
        return data


def _event(row: Any) -> MessageEvent:
    return MessageEvent(
        id=row.id,
        recipient=row.recipient,
        category=row.category,
        reason=row.reason,
        rule=row.rule,
        status=row.status,
        reply_code=row.reply_code,
        action=row.action,
        diagnostic=row.diagnostic,
        remote_mta=row.remote_mta,
        feedback_type=row.feedback_type,
        original_message_id=row.original_message_id,
        trusted=bool(row.trusted),
        occurred_at=row.occurred_at,
    )


def message_view(conn: Connection, message_id: int) -> MessageView:
    """One message and its events (in recording order); MessageNotFound."""
    columns = [c for c in _messages.c if c.name not in ("raw", "raw_encoding")]
    row = conn.execute(
        select(*columns, _messages.c.raw.is_not(None).label("raw_stored")).where(
            _messages.c.id == message_id
        )
    ).first()
    if row is None:
        raise MessageNotFound(message_id)
    found = conn.execute(
        select(_events).where(_events.c.message_id == message_id).order_by(_events.c.id)
    ).all()
    return MessageView(
        id=row.id,
        source=row.source,
        folder=row.folder,
        uidvalidity=row.uidvalidity or None,
        uid=row.uid,
        path=row.path,
        message_id=row.message_id,
        sha256=row.sha256,
        size=row.size,
        received_at=row.received_at,
        recorded_at=row.recorded_at,
        kind=row.kind,
        format=row.format,
        subject=row.subject,
        sender=row.sender,
        original_message_id=row.original_message_id,
        verp=row.verp,
        defects=tuple(row.defects or ()),
        raw_stored=bool(row.raw_stored),
        events=tuple(_event(e) for e in found),
    )


def list_messages(
    conn: Connection,
    *,
    category: Category | str | None = None,
    kind: MessageKind | str | None = None,
    unparsed: bool = False,
    since: datetime | None = None,
    limit: int | None = 50,
) -> list[MessageSummary]:
    """Messages, newest first (by arrival, else recording time).

    `category`: at least one of its events has it. `unparsed`: nothing recognised (kind
    `unknown`, or no event at all), the messages the poller quarantines for review.
    """
    has_event = exists().where(_events.c.message_id == _messages.c.id)
    query = select(
        _messages.c.id,
        _received.label("received"),
        _messages.c.source,
        _messages.c.folder,
        _messages.c.path,
        _messages.c.kind,
        _messages.c.subject,
    )
    if category is not None:
        query = query.where(has_event.where(_events.c.category == Category(category).value))
    if kind is not None:
        query = query.where(_messages.c.kind == MessageKind(kind).value)
    if unparsed:
        query = query.where((_messages.c.kind == MessageKind.UNKNOWN.value) | ~has_event)
    if since is not None:
        query = query.where(_received >= since)
    query = query.order_by(_received.desc(), _messages.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    firsts: dict[int, tuple[str, str | None]] = {}
    counts: dict[int, int] = {}
    if rows:
        # One query for the events of the listed messages only: the first (lowest id) of
        # each message gives the line its category and reason.
        found = conn.execute(
            select(_events.c.message_id, _events.c.category, _events.c.reason)
            .where(_events.c.message_id.in_([r.id for r in rows]))
            .order_by(_events.c.id)
        ).all()
        for e in found:
            counts[e.message_id] = counts.get(e.message_id, 0) + 1
            firsts.setdefault(e.message_id, (e.category, e.reason))
    return [
        MessageSummary(
            id=r.id,
            received_at=r.received,
            source=r.source,
            folder=r.folder,
            path=r.path,
            kind=r.kind,
            subject=r.subject,
            recipients=counts.get(r.id, 0),
            first_category=firsts.get(r.id, (None, None))[0],
            first_reason=firsts.get(r.id, (None, None))[1],
        )
        for r in rows
    ]
