"""Read-side queries (the feed, one contact, the suppression list) and the operator's
re-enable action. Results are plain frozen dataclasses, ready for any output format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update
from sqlalchemy.orm import aliased

from returnpath.model import Category
from returnpath.storage.errors import (
    ContactNotFound,
    InvalidAddress,
    NotUnsubscribed,
    StorageError,
)
from returnpath.storage.recorder import (
    COUNTER_COLUMNS,
    contacts,
    domain_of,
    events,
    history,
    insert_ignoring_conflicts,
    normalise_address,
)
from returnpath.storage.tables import ContactStatus, HistoryChange, UnsubscribeReason


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One event of the activity feed."""

    id: int
    occurred_at: datetime
    recorded_at: datetime
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
    campaign: str | None
    source: str
    origin: str
    trusted: bool
    message_id: int | None

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        data["occurred_at"] = self.occurred_at.isoformat()
        data["recorded_at"] = self.recorded_at.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One status change of a contact."""

    at: datetime
    change: str
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    note: str | None
    event_id: int | None
    related_address: str | None


@dataclass(frozen=True, slots=True)
class ContactView:
    """Everything `contacts show` prints about one address."""

    address: str
    status: str
    unsubscribe_reason: str | None
    unsubscribed_at: datetime | None
    counters: dict[str, int]
    last_event_at: datetime | None
    last_category: str | None
    replaced_by: str | None
    corrected_from: tuple[str, ...]
    created_at: datetime
    history: tuple[HistoryEntry, ...] = field(default=())
    events: tuple[FeedEntry, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Suppression:
    """One address the sending side must not mail."""

    address: str
    reason: str | None
    unsubscribed_at: datetime | None
    replaced_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "reason": self.reason,
            "unsubscribed_at": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
            "replaced_by": self.replaced_by,
        }


@dataclass(frozen=True, slots=True)
class ReenableOutcome:
    """What reenable() changed: the address now subscribed, and the one left suppressed."""

    address: str
    subscribed: str
    corrected: bool


def _feed_entry(row: RowMapping) -> FeedEntry:
    return FeedEntry(
        id=row["id"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        recipient=row["recipient"],
        category=row["category"],
        reason=row["reason"],
        rule=row["rule"],
        status=row["status"],
        reply_code=row["reply_code"],
        action=row["action"],
        diagnostic=row["diagnostic"],
        remote_mta=row["remote_mta"],
        feedback_type=row["feedback_type"],
        original_message_id=row["original_message_id"],
        campaign=row["campaign"],
        source=row["source"],
        origin=row["origin"],
        trusted=bool(row["trusted"]),
        message_id=row["message_id"],
    )


def feed(
    conn: Connection,
    *,
    contact: str | None = None,
    category: Category | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 50,
) -> list[FeedEntry]:
    """Events, newest first."""
    query = select(events)
    if contact is not None:
        query = query.where(events.c.recipient == (normalise_address(contact) or contact))
    if category is not None:
        query = query.where(events.c.category == Category(category).value)
    if since is not None:
        query = query.where(events.c.occurred_at >= since)
    if until is not None:
        query = query.where(events.c.occurred_at < until)
    query = query.order_by(events.c.occurred_at.desc(), events.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_feed_entry(row) for row in conn.execute(query).mappings()]


def contact_view(conn: Connection, address: str, *, events_limit: int = 10) -> ContactView:
    normalised = normalise_address(address)
    if normalised is None:
        raise InvalidAddress(address)
    row = conn.execute(select(contacts).where(contacts.c.address == normalised)).mappings().first()
    if row is None:
        raise ContactNotFound(normalised)
    replaced_by = None
    if row["replaced_by_id"] is not None:
        replaced_by = conn.execute(
            select(contacts.c.address).where(contacts.c.id == row["replaced_by_id"])
        ).scalar()
    corrected_from = tuple(
        conn.execute(
            select(contacts.c.address)
            .where(contacts.c.replaced_by_id == row["id"])
            .order_by(contacts.c.address)
        ).scalars()
    )
    related = aliased(contacts)
    history_rows = conn.execute(
        select(history, related.c.address.label("related_address"))
        .outerjoin(related, related.c.id == history.c.related_contact_id)
        .where(history.c.contact_id == row["id"])
        .order_by(history.c.at, history.c.id)
    ).mappings()
    entries = tuple(
        HistoryEntry(
            at=h["at"],
            change=h["change"],
            from_status=h["from_status"],
            to_status=h["to_status"],
            reason=h["reason"],
            actor=h["actor"],
            note=h["note"],
            event_id=h["event_id"],
            related_address=h["related_address"],
        )
        for h in history_rows
    )
    return ContactView(
        address=row["address"],
        status=row["status"],
        unsubscribe_reason=row["unsubscribe_reason"],
        unsubscribed_at=row["unsubscribed_at"],
        counters={cat.value: int(row[col]) for cat, col in COUNTER_COLUMNS.items()},
        last_event_at=row["last_event_at"],
        last_category=row["last_category"],
        replaced_by=replaced_by,
        corrected_from=corrected_from,
        created_at=row["created_at"],
        history=entries,
        events=tuple(feed(conn, contact=normalised, limit=events_limit)),
    )


def suppressions(conn: Connection) -> list[Suppression]:
    replacement = aliased(contacts)
    rows = conn.execute(
        select(
            contacts.c.address,
            contacts.c.unsubscribe_reason,
            contacts.c.unsubscribed_at,
            replacement.c.address.label("replaced_by"),
        )
        .outerjoin(replacement, replacement.c.id == contacts.c.replaced_by_id)
        .where(contacts.c.status == ContactStatus.UNSUBSCRIBED.value)
        .order_by(contacts.c.unsubscribed_at, contacts.c.address)
    ).all()
    return [
        Suppression(r.address, r.unsubscribe_reason, r.unsubscribed_at, r.replaced_by) for r in rows
    ]


def reenable(
    conn: Connection,
    address: str,
    *,
    corrected_address: str | None,
    actor: str,
    note: str | None,
    now: datetime,
) -> ReenableOutcome:
    """Undo an unsubscribe, or move the contact to a corrected address.

    Without a correction the address itself becomes subscribed again. With one, the corrected
    address becomes subscribed and linked to the old one, which stays suppressed. Every change
    is a contact_history row carrying `actor` and `note`.
    """
    old = normalise_address(address)
    if old is None:
        raise InvalidAddress(address)
    row = conn.execute(select(contacts).where(contacts.c.address == old)).mappings().first()
    if row is None:
        raise ContactNotFound(old)
    if row["status"] != ContactStatus.UNSUBSCRIBED.value:
        raise NotUnsubscribed(old, row["status"])
    if corrected_address is None:
        changed = conn.execute(
            update(contacts)
            .where(
                contacts.c.id == row["id"],
                contacts.c.status == ContactStatus.UNSUBSCRIBED.value,
            )
            .values(
                status=ContactStatus.SUBSCRIBED.value,
                unsubscribe_reason=None,
                unsubscribed_at=None,
                unsubscribe_event_id=None,
                updated_at=now,
            )
        ).rowcount
        if changed != 1:  # someone else re-enabled it between our read and this write
            raise NotUnsubscribed(old, ContactStatus.SUBSCRIBED.value)
        _history(
            conn,
            row["id"],
            HistoryChange.REENABLED,
            ContactStatus.UNSUBSCRIBED,
            ContactStatus.SUBSCRIBED,
            row["unsubscribe_reason"],
            actor,
            note,
            None,
            now,
        )
        return ReenableOutcome(address=old, subscribed=old, corrected=False)

    new = normalise_address(corrected_address)
    if new is None:
        raise InvalidAddress(corrected_address)
    if new == old:
        raise StorageError(
            f"the corrected address is the same as {old!r}: re-enable without --corrected-address"
        )
    conn.execute(
        insert_ignoring_conflicts(conn, contacts).values(
            address=new,
            domain=domain_of(new),
            status=ContactStatus.SUBSCRIBED.value,
            **dict.fromkeys(COUNTER_COLUMNS.values(), 0),
            created_at=now,
            updated_at=now,
        )
    )
    target = conn.execute(select(contacts).where(contacts.c.address == new)).mappings().one()
    if target["status"] != ContactStatus.SUBSCRIBED.value:
        raise StorageError(
            f"the corrected address {new!r} is itself unsubscribed "
            f"({target['unsubscribe_reason']}): re-enable it on its own first"
        )
    conn.execute(
        update(contacts)
        .where(contacts.c.id == row["id"])
        .values(
            replaced_by_id=target["id"],
            unsubscribe_reason=row["unsubscribe_reason"] or UnsubscribeReason.CORRECTED.value,
            updated_at=now,
        )
    )
    _history(
        conn,
        row["id"],
        HistoryChange.ADDRESS_CORRECTED,
        ContactStatus.UNSUBSCRIBED,
        ContactStatus.UNSUBSCRIBED,
        row["unsubscribe_reason"],
        actor,
        note,
        target["id"],
        now,
    )
    _history(
        conn,
        target["id"],
        HistoryChange.CORRECTED_FROM,
        ContactStatus(target["status"]),
        ContactStatus.SUBSCRIBED,
        None,
        actor,
        note,
        row["id"],
        now,
    )
    return ReenableOutcome(address=old, subscribed=new, corrected=True)


def _history(
    conn: Connection,
    contact_id: int,
    change: HistoryChange,
    from_status: ContactStatus | None,
    to_status: ContactStatus,
    reason: str | None,
    actor: str,
    note: str | None,
    related: int | None,
    now: datetime,
) -> None:
    conn.execute(
        history.insert().values(
            contact_id=contact_id,
            change=change.value,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            reason=reason,
            actor=actor,
            note=note,
            event_id=None,
            related_contact_id=related,
            at=now,
        )
    )
