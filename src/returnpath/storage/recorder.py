"""The one transaction that records a returned message, and the effects it has on contacts.

Everything here runs on a Connection inside a transaction opened by Store; the caller commits.
Concurrent writers are handled by the unique constraints: inserts that may race use
INSERT ... ON CONFLICT DO NOTHING, and status changes are conditional UPDATEs whose row count
says whether this transaction made the change.

Deferral keys. A deferral is keyed by (recipient, original Message-ID). When the returned
message does not quote the original's Message-ID, the key falls back to the returned message's
own Message-ID, else to the sha256 of its bytes (`deferrals.key_kind` says which). A fallback
key can only be closed by a final verdict that also lacks an original Message-ID: such a
verdict closes every pending deferral of its recipient, since there is nothing finer to
match on. Otherwise a fallback-keyed deferral expires after the window.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from returnpath.config import Settings
from returnpath.model import (
    UNSUBSCRIBING_FEEDBACK_TYPES,
    Category,
    ParseResult,
    RawMessage,
    Reason,
    VerpState,
    compress_raw,
)
from returnpath.storage.tables import (
    CheckpointRow,
    ContactHistoryRow,
    ContactRow,
    ContactStatus,
    DeferralKeyKind,
    DeferralRow,
    DeferralState,
    EventOrigin,
    EventRow,
    HistoryChange,
    MessageRow,
    UnsubscribeReason,
    UTCDateTime,
)

messages: Table = MessageRow.__table__  # type: ignore[assignment]
events: Table = EventRow.__table__  # type: ignore[assignment]
contacts: Table = ContactRow.__table__  # type: ignore[assignment]
history: Table = ContactHistoryRow.__table__  # type: ignore[assignment]
deferrals: Table = DeferralRow.__table__  # type: ignore[assignment]
checkpoints: Table = CheckpointRow.__table__  # type: ignore[assignment]

#: The actor recorded on history rows that returnpath itself made.
SYSTEM_ACTOR = "returnpath"

#: Categories that end a pending deferral: a failure with its own verdict, or proof of delivery.
_FINAL = frozenset(
    {Category.HARD, Category.SOFT, Category.BLOCK, Category.DELIVERED, Category.AUTO_REPLY}
)
_DELIVERED_LIKE = frozenset({Category.DELIVERED, Category.AUTO_REPLY})

COUNTER_COLUMNS: dict[Category, str] = {
    Category.HARD: "hard_count",
    Category.SOFT: "soft_count",
    Category.BLOCK: "block_count",
    Category.DEFERRAL: "deferral_count",
    Category.AUTO_REPLY: "auto_reply_count",
    Category.DELIVERED: "delivered_count",
    Category.COMPLAINT: "complaint_count",
}


#: The bind parameter that carries each counter's increment in _write_counts().
_COUNT_PARAMS: dict[Category, str] = {
    category: f"d_{column}" for category, column in COUNTER_COLUMNS.items()
}


@dataclass(frozen=True, slots=True)
class _Planned:
    """One recipient of a message: its event row, and what its effects need."""

    event: dict[str, Any]
    contact_id: int | None
    address: str | None
    category: Category
    feedback_type: str | None
    original: str | None
    returned_message_id: str | None
    sha: str
    source: str
    occurred: datetime


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What record() did: the message row, whether it was new, events written, unsubscribes."""

    message_id: int
    created: bool
    events: int
    unsubscribed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """A message Store.record_many() could not record: its own error (the others are kept)."""

    error: Exception


def clean_text(value: str, limit: int | None = None) -> str:
    """Text any backend accepts: no NUL (PostgreSQL refuses it), no lone surrogates (not
    encodable as UTF-8), at most `limit` characters (PostgreSQL enforces VARCHAR lengths)."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():  # only non-ASCII text can hold a lone surrogate
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    if limit is not None and len(value) > limit:
        value = value[:limit]
    return value


#: Per table, each column's length limit (None: unlimited); read on every row written.
_LENGTHS: dict[str, dict[str, int | None]] = {}


def clean_row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """clean_text on every string value, with the column's length as the limit."""
    lengths = _LENGTHS.get(table.name)
    if lengths is None:
        lengths = _LENGTHS[table.name] = {
            column.key: getattr(column.type, "length", None) for column in table.c
        }
    for key, value in values.items():
        if isinstance(value, str):
            limit = lengths[key]
            # the common case, checked here: one call per row instead of one per value
            if value.isascii() and "\x00" not in value and (limit is None or len(value) <= limit):
                continue
            values[key] = clean_text(value, limit)
        elif isinstance(value, list):
            values[key] = [clean_text(v) if isinstance(v, str) else v for v in value]
    return values


# Statements are built once per backend and reused: building SQLAlchemy statements costs
# more than executing them on SQLite.
_STATEMENTS: dict[tuple[str, str], Any] = {}


def statement(conn: Connection, name: str, build: Callable[[Connection], Any]) -> Any:
    key = (conn.dialect.name, name)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build(conn)
    return found


#: What a stored address never holds: whitespace (\s is exactly str.isspace()), NUL, brackets.
_NOT_IN_ADDRESS = re.compile(r"[\s\x00<>]")


def normalise_address(address: str | None) -> str | None:
    """The stored form of an address: trimmed, angle brackets removed, lower-cased.

    None when it does not look like local@domain (such events keep the text but touch no
    contact).
    """
    if not address:
        return None
    value = address.strip().strip("<>").strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(value) > 320:
        return None
    if _NOT_IN_ADDRESS.search(value):
        return None
    if clean_text(value) != value:
        return None
    return value


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def insert_ignoring_conflicts(conn: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the two supported backends.

    Whether a row was inserted is told by RETURNING, not rowcount: psycopg reports -1 here.
    """
    if conn.dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def message_key(raw: RawMessage) -> tuple[str, str, int, int | None, str]:
    """(source, folder, uidvalidity or 0, uid, sha256): what makes a message the same one."""
    sha = hashlib.sha256(raw.data).hexdigest()
    return raw.source, raw.folder, raw.uidvalidity or 0, raw.uid, sha


def find_message(conn: Connection, raw: RawMessage, sha: str) -> int | None:
    """The id of the row this message was already recorded as, by mailbox key or content."""
    by_content = messages.c.sha256 == sha
    condition = by_content
    if raw.uid is not None:
        condition = or_(
            by_content,
            and_(
                messages.c.source == raw.source,
                messages.c.folder == raw.folder,
                messages.c.uidvalidity == (raw.uidvalidity or 0),
                messages.c.uid == raw.uid,
            ),
        )
    found = conn.execute(select(messages.c.id).where(condition).limit(1)).scalar()
    return None if found is None else int(found)


def find_messages(
    conn: Connection, keys: list[tuple[str, str, int, int | None, str]]
) -> dict[int, int]:
    """find_message for a batch in a few queries: {index in keys: id of the recorded row}."""
    found: dict[int, int] = {}
    if not keys:
        return found
    by_sha: dict[str, list[int]] = {}
    by_box: dict[tuple[str, str, int], dict[int, list[int]]] = {}
    for index, (source, folder, uidvalidity, uid, sha) in enumerate(keys):
        by_sha.setdefault(sha, []).append(index)
        if uid is not None:
            by_box.setdefault((source, folder, uidvalidity), {}).setdefault(uid, []).append(index)
    # Chunks stay well under SQLite's limit on bound parameters.
    shas = list(by_sha)
    for start in range(0, len(shas), 500):
        rows = conn.execute(
            select(messages.c.id, messages.c.sha256).where(
                messages.c.sha256.in_(shas[start : start + 500])
            )
        )
        for row in rows:
            for index in by_sha[row.sha256]:
                found.setdefault(index, int(row.id))
    for (source, folder, uidvalidity), uids in by_box.items():
        wanted = list(uids)
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                select(messages.c.id, messages.c.uid).where(
                    messages.c.source == source,
                    messages.c.folder == folder,
                    messages.c.uidvalidity == uidvalidity,
                    messages.c.uid.in_(wanted[start : start + 500]),
                )
            )
            for row in rows:
                for index in uids[int(row.uid)]:
                    found.setdefault(index, int(row.id))
    return found


def _checkpoint_upsert(conn: Connection) -> Any:
    stmt = (
        pg_insert(checkpoints) if conn.dialect.name == "postgresql" else sqlite_insert(checkpoints)
    )
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[checkpoints.c.source, checkpoints.c.folder],
        set_={
            # A new UIDVALIDITY restarts the count; otherwise only ever move forward.
            "last_uid": case(
                (checkpoints.c.uidvalidity != new.uidvalidity, new.last_uid),
                (checkpoints.c.last_uid < new.last_uid, new.last_uid),
                else_=checkpoints.c.last_uid,
            ),
            "uidvalidity": new.uidvalidity,
            "updated_at": new.updated_at,
        },
        # No write at all when nothing moves (re-found duplicates): no page, no sync.
        where=or_(
            checkpoints.c.uidvalidity != new.uidvalidity, checkpoints.c.last_uid < new.last_uid
        ),
    )


def advance_checkpoint(conn: Connection, raw: RawMessage, now: datetime) -> None:
    """Move (source, folder) to this uid; a new UIDVALIDITY restarts the count."""
    if raw.uid is None:
        return
    conn.execute(
        statement(conn, "checkpoint", _checkpoint_upsert),
        clean_row(
            checkpoints,
            {
                "source": raw.source,
                "folder": raw.folder,
                "uidvalidity": raw.uidvalidity or 0,
                "last_uid": raw.uid,
                "updated_at": now,
            },
        ),
    )


class Recorder:
    """Records one message inside the caller's transaction."""

    def __init__(self, conn: Connection, settings: Settings, now: datetime) -> None:
        self.conn = conn
        self.settings = settings
        self.now = now
        self.unsubscribed: list[str] = []
        #: Contacts already looked up in this transaction: address -> (id, whether it ever
        #: had a deferral counted). Only a contact with a deferral counted can have a pending
        #: one, which spares a write for the great majority of final verdicts.
        self.known_contacts: dict[str, tuple[int, bool]] = {}
        #: While record_batch() runs: per contact, the counter changes it will write at the end.
        self._counts: dict[int, dict[str, Any]] | None = None

    def prefetch_contacts(self, addresses: Iterable[str]) -> None:
        """Look the contacts of a batch up in one query; _contact() then reads them here."""
        known = self.known_contacts
        wanted = sorted(set(addresses) - known.keys())
        for start in range(0, len(wanted), 500):
            rows = self.conn.execute(
                select(contacts.c.address, contacts.c.id, contacts.c.deferral_count).where(
                    contacts.c.address.in_(wanted[start : start + 500])
                )
            )
            for row in rows:
                known[row.address] = (int(row.id), bool(row.deferral_count))

    # -- the message ------------------------------------------------------------------------

    def record(
        self,
        raw: RawMessage,
        result: ParseResult,
        sha: str,
        *,
        checkpoint: bool = True,
        message_id: int | None = None,
    ) -> RecordOutcome | None:
        """Write everything; None when another writer recorded this message first.

        `checkpoint=False` leaves the mailbox checkpoint to the caller (a batch advances it
        once); `message_id`: the message row was inserted already (insert_messages)."""
        self.unsubscribed = []
        if message_id is None:
            message_id = self._insert_message(raw, result, sha)
        if message_id is None:
            return None
        planned = self._plan(raw, result, sha, message_id)
        for row in planned:
            self._effects(row, self._insert_event(**row.event))
        if checkpoint:
            advance_checkpoint(self.conn, raw, self.now)
        return RecordOutcome(message_id, True, len(planned), tuple(self.unsubscribed))

    def record_batch(
        self, rows: list[tuple[RawMessage, ParseResult, str, int]]
    ) -> list[RecordOutcome]:
        """record() for messages whose rows insert_messages() wrote: (raw, result, sha, id).

        The same writes, fewer statements: the events of the whole batch are inserted in one
        statement, then each event's effects are applied in order, and each contact's
        counters are written once at the end (nothing in between reads them). Effects that
        read events (the soft-bounce policy, a deferral meeting its final verdict) only see
        events with a lower id, which are exactly those record() would have written before.
        No checkpoint: the caller advances it once for the batch.
        """
        plans = [self._plan(raw, result, sha, message_id) for raw, result, sha, message_id in rows]
        flat = [row for plan in plans for row in plan]
        ids = self._insert_events([row.event for row in flat]) if flat else []
        event_ids = iter(ids)
        outcomes: list[RecordOutcome] = []
        self._counts = {}
        try:
            for (_, _, _, message_id), plan in zip(rows, plans, strict=True):
                self.unsubscribed = []
                for row in plan:
                    self._effects(row, next(event_ids))
                outcomes.append(
                    RecordOutcome(message_id, True, len(plan), tuple(self.unsubscribed))
                )
            self._write_counts(self._counts)
        finally:
            self._counts = None
        return outcomes

    def insert_messages(self, rows: list[tuple[RawMessage, ParseResult, str]]) -> list[int]:
        """Insert the message rows of a batch in one statement; their ids, in order.

        A plain INSERT: a message recorded meanwhile (or twice in the batch) raises
        IntegrityError, and the caller records message by message instead."""
        if not rows:
            return []
        stmt = statement(
            self.conn,
            "insert_messages",
            lambda _c: messages.insert().returning(messages.c.id, sort_by_parameter_order=True),
        )
        params = [self._message_params(raw, result, sha) for raw, result, sha in rows]
        return [int(i) for i in self.conn.execute(stmt, params).scalars()]

    def _insert_message(self, raw: RawMessage, result: ParseResult, sha: str) -> int | None:
        stmt = statement(
            self.conn,
            "insert_message",
            lambda c: insert_ignoring_conflicts(c, messages).returning(messages.c.id),
        )
        found = self.conn.execute(stmt, self._message_params(raw, result, sha)).scalar()
        return None if found is None else int(found)

    def _message_params(self, raw: RawMessage, result: ParseResult, sha: str) -> dict[str, Any]:
        raw_bytes: bytes | None = None
        encoding: str | None = None
        if self.settings.store_raw:
            raw_bytes = raw.compressed if raw.compressed is not None else compress_raw(raw.data)
            encoding = "zlib"
        return clean_row(
            messages,
            dict(
                source=raw.source,
                folder=raw.folder,
                uidvalidity=raw.uidvalidity or 0,
                uid=raw.uid,
                path=raw.path,
                message_id=result.message_id,
                sha256=sha,
                size=len(raw.data),
                received_at=_aware(raw.received_at),
                recorded_at=self.now,
                kind=result.kind.value,
                format=result.format,
                subject=result.subject,
                sender=result.sender,
                original_message_id=result.original_message_id,
                verp=result.verp.value,
                defects=list(result.defects),
                raw=raw_bytes,
                raw_encoding=encoding,
            ),
        )

    def _occurred_at(self, raw: RawMessage, result: ParseResult) -> datetime:
        """When the returned mail arrived: the mailbox's time, else its Date, never the future."""
        for candidate in (_aware(raw.received_at), _aware(result.date)):
            if candidate is not None and candidate <= self.now:
                return candidate
        return self.now

    # -- one recipient ----------------------------------------------------------------------

    def _plan(
        self, raw: RawMessage, result: ParseResult, sha: str, message_id: int
    ) -> list[_Planned]:
        """The event row of each recipient of a message, its contact looked up or created."""
        trusted = not (self.settings.require_signed_verp and result.verp is not VerpState.VALID)
        occurred = self._occurred_at(raw, result)
        headers = {name.lower(): value for name, value in result.original_headers}
        campaign = headers.get(self.settings.campaign_header.lower()) or result.verp_campaign
        contact_ref = headers.get(self.settings.contact_header.lower())
        planned: list[_Planned] = []
        seen: set[str | None] = set()
        for delivery in result.deliveries:
            address = normalise_address(delivery.recipient)
            recipient = address or (delivery.recipient or "").strip() or None
            if recipient is not None:  # as stored, so the (message, recipient) key cannot collide
                recipient = clean_text(recipient, events.c.recipient.type.length)  # type: ignore[attr-defined]
            if recipient is not None and recipient in seen:
                continue  # a report naming one recipient twice: the first block speaks
            seen.add(recipient)
            verdict = delivery.verdict
            category = verdict.category if verdict else Category.UNKNOWN
            original = delivery.original_message_id or result.original_message_id
            acts = trusted and address is not None and category is not Category.UNKNOWN
            contact_id = self._contact(address) if acts and address else None
            event = dict(
                origin=EventOrigin.MESSAGE,
                message_id=message_id,
                contact_id=contact_id,
                source=raw.source,
                recipient=recipient,
                domain=domain_of(address) if address else None,
                category=category.value,
                reason=verdict.reason.value if verdict else None,
                rule=verdict.rule if verdict else None,
                status=delivery.status,
                reply_code=delivery.reply_code,
                action=delivery.action.value or None,
                diagnostic=delivery.diagnostic,
                remote_mta=delivery.remote_mta,
                feedback_type=delivery.feedback_type,
                format=delivery.format or result.format or None,
                original_message_id=original,
                campaign=campaign,
                contact_ref=contact_ref,
                trusted=trusted,
                occurred_at=occurred,
            )
            planned.append(
                _Planned(event, contact_id, address, category, delivery.feedback_type, original,
                         result.message_id, sha, raw.source, occurred)
            )
        return planned

    def _effects(self, row: _Planned, event_id: int) -> None:
        """What one recipient's event does to its contact and deferrals."""
        contact_id, address, category = row.contact_id, row.address, row.category
        if contact_id is None or address is None:
            return
        occurred = row.occurred
        self._count(contact_id, address, category, event_id, occurred)
        if category is Category.HARD:
            self.unsubscribe(contact_id, address, UnsubscribeReason.HARD_BOUNCE, event_id, occurred)
        elif category is Category.COMPLAINT:
            feedback = (row.feedback_type or "").strip().lower()
            if feedback in UNSUBSCRIBING_FEEDBACK_TYPES:
                self.unsubscribe(
                    contact_id, address, UnsubscribeReason.COMPLAINT, event_id, occurred
                )
        elif category in (Category.SOFT, Category.BLOCK):
            self.apply_soft_policy(contact_id, address, event_id, occurred)
        if category is Category.DEFERRAL:
            kind, key = deferral_key(row.original, row.returned_message_id, row.sha)
            key = clean_text(key, deferrals.c.original_key.type.length)  # type: ignore[attr-defined]
            self._defer(address, kind, key, contact_id, row.source, event_id, occurred)
        elif category in _FINAL and self.known_contacts[address][1]:
            self._close_deferrals(address, row.original, category, event_id)

    # -- contacts ---------------------------------------------------------------------------

    def _contact(self, address: str) -> int:
        """The contact id of an address, creating a subscribed contact when it is new."""
        found = self.known_contacts.get(address)
        if found is None:
            found = self.known_contacts[address] = self._find_or_create_contact(address)
        return found[0]

    def _find_or_create_contact(self, address: str) -> tuple[int, bool]:
        """(id, whether it ever had a deferral counted)."""
        find = statement(
            self.conn,
            "contact_id",
            lambda _c: select(contacts.c.id, contacts.c.deferral_count).where(
                contacts.c.address == bindparam("address")
            ),
        )
        found = self.conn.execute(find, {"address": address}).first()
        if found is not None:
            return int(found.id), bool(found.deferral_count)
        created = self.conn.execute(
            statement(
                self.conn,
                "insert_contact",
                lambda c: insert_ignoring_conflicts(c, contacts).returning(contacts.c.id),
            ),
            {
                "address": address,
                "domain": domain_of(address),
                "status": ContactStatus.SUBSCRIBED.value,
                **dict.fromkeys(COUNTER_COLUMNS.values(), 0),
                "created_at": self.now,
                "updated_at": self.now,
            },
        ).scalar()
        if created is None:  # another writer created it a moment ago
            row = self.conn.execute(find, {"address": address}).one()
            return int(row.id), bool(row.deferral_count)
        return int(created), False

    def _count(
        self, contact_id: int, address: str, category: Category, event_id: int, at: datetime
    ) -> None:
        """One more event of `category` for the contact, and it is the contact's latest.

        Within record_batch() the change is kept and written once per contact at the end;
        otherwise it is written now."""
        if category is Category.DEFERRAL:
            self.known_contacts[address] = (contact_id, True)
        pending = self._counts if self._counts is not None else {}
        counts = pending.setdefault(
            contact_id,
            {"b_id": contact_id, "b_now": self.now, **dict.fromkeys(_COUNT_PARAMS.values(), 0)},
        )
        counts[_COUNT_PARAMS[category]] += 1
        counts.update(b_event=event_id, b_at=at, b_category=category.value)
        if self._counts is None:
            self._write_counts(pending)

    def _write_counts(self, counts: dict[int, dict[str, Any]]) -> None:
        """Counter changes per contact: one UPDATE each, in one executemany."""
        if not counts:
            return
        stmt = statement(
            self.conn,
            "count",
            lambda _c: (
                update(contacts)
                .where(contacts.c.id == bindparam("b_id"))
                .values(
                    {
                        **{
                            contacts.c[COUNTER_COLUMNS[category]]: (
                                contacts.c[COUNTER_COLUMNS[category]] + bindparam(param)
                            )
                            for category, param in _COUNT_PARAMS.items()
                        },
                        contacts.c.last_event_id: bindparam("b_event"),
                        contacts.c.last_event_at: bindparam("b_at", type_=UTCDateTime()),
                        contacts.c.last_category: bindparam("b_category"),
                        contacts.c.updated_at: bindparam("b_now", type_=UTCDateTime()),
                    }
                )
            ),
        )
        self.conn.execute(stmt, list(counts.values()))

    def unsubscribe(
        self,
        contact_id: int,
        address: str,
        reason: UnsubscribeReason,
        event_id: int | None,
        at: datetime,
    ) -> bool:
        """Unsubscribe a subscribed contact; False (and no history row) if it already was."""
        changed = self.conn.execute(
            statement(
                self.conn,
                "unsubscribe",
                lambda _c: update(contacts)
                .where(
                    contacts.c.id == bindparam("b_id"),
                    contacts.c.status == ContactStatus.SUBSCRIBED.value,
                )
                .values(
                    status=ContactStatus.UNSUBSCRIBED.value,
                    unsubscribe_reason=bindparam("b_reason"),
                    unsubscribed_at=bindparam("b_at", type_=UTCDateTime()),
                    unsubscribe_event_id=bindparam("b_event"),
                    updated_at=bindparam("b_now", type_=UTCDateTime()),
                ),
            ),
            {"b_id": contact_id, "b_reason": reason.value, "b_at": at, "b_event": event_id,
             "b_now": self.now},
        ).rowcount
        if changed != 1:
            return False
        self.conn.execute(
            statement(
                self.conn,
                "unsubscribed_history",
                lambda _c: history.insert().values(
                    change=HistoryChange.UNSUBSCRIBED.value,
                    from_status=ContactStatus.SUBSCRIBED.value,
                    to_status=ContactStatus.UNSUBSCRIBED.value,
                    actor=SYSTEM_ACTOR,
                    note=None,
                    related_contact_id=None,
                ),
            ),
            {"contact_id": contact_id, "reason": reason.value, "event_id": event_id,
             "at": self.now},
        )
        self.unsubscribed.append(address)
        return True

    def apply_soft_policy(self, contact_id: int, address: str, event_id: int, at: datetime) -> None:
        """N soft bounces (soft or block) within the window unsubscribe (`soft_limit`); off at 0."""
        limit = self.settings.soft_bounce_limit
        if limit <= 0:
            return
        since = at - timedelta(days=self.settings.soft_bounce_window_days)
        # An operator's re-enable starts the count afresh.
        reenabled = self.conn.execute(
            statement(
                self.conn,
                "last_reenabled",
                lambda _c: select(func.max(history.c.at)).where(
                    history.c.contact_id == bindparam("b_id"),
                    history.c.change == HistoryChange.REENABLED.value,
                ),
            ),
            {"b_id": contact_id},
        ).scalar()
        if reenabled is not None:
            since = max(since, reenabled)
        count = self.conn.execute(
            statement(
                self.conn,
                "soft_bounces",
                lambda _c: select(func.count())
                .select_from(events)
                .where(
                    events.c.contact_id == bindparam("b_id"),
                    events.c.trusted.is_(True),
                    events.c.category.in_([Category.SOFT.value, Category.BLOCK.value]),
                    events.c.occurred_at >= bindparam("b_since", type_=UTCDateTime()),
                    events.c.occurred_at <= bindparam("b_at", type_=UTCDateTime()),
                    # record_batch() inserts a batch's events before their effects run
                    events.c.id <= bindparam("b_event"),
                ),
            ),
            {"b_id": contact_id, "b_since": since, "b_at": at, "b_event": event_id},
        ).scalar_one()
        if count >= limit:
            self.unsubscribe(contact_id, address, UnsubscribeReason.SOFT_LIMIT, event_id, at)

    # -- events -----------------------------------------------------------------------------

    def _insert_events(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the events of a batch in one statement; their ids, in order."""
        for values in rows:
            values["origin"] = EventOrigin(values["origin"]).value
            values.setdefault("recorded_at", self.now)
            clean_row(events, values)
        stmt = statement(
            self.conn,
            "insert_events",
            lambda _c: events.insert().returning(events.c.id, sort_by_parameter_order=True),
        )
        return [int(i) for i in self.conn.execute(stmt, rows).scalars()]

    def _insert_event(self, **values: Any) -> int:
        values["origin"] = EventOrigin(values["origin"]).value
        values.setdefault("recorded_at", self.now)
        return int(
            self.conn.execute(
                statement(
                    self.conn, "insert_event", lambda _c: events.insert().returning(events.c.id)
                ),
                clean_row(events, values),
            ).scalar_one()
        )

    # -- deferrals --------------------------------------------------------------------------

    def _defer(
        self,
        address: str,
        kind: DeferralKeyKind,
        key: str,
        contact_id: int,
        source: str,
        event_id: int,
        at: datetime,
    ) -> None:
        # Backfills can meet the final outcome before the deferral notice: then the deferral
        # is born resolved instead of waiting to expire.
        final = None
        if kind is DeferralKeyKind.ORIGINAL_MESSAGE_ID:
            final = self.conn.execute(
                statement(self.conn, "final_for_deferral", lambda _c: _final_event_statement()),
                {"b_recipient": address, "b_key": key, "b_event": event_id},
            ).first()
        state, resolution, resolved_at, resolved_event = DeferralState.PENDING, None, None, None
        if final is not None:
            closing = Category(final.category)
            resolution = (Category.DELIVERED if closing in _DELIVERED_LIKE else closing).value
            state, resolved_at, resolved_event = DeferralState.RESOLVED, self.now, final.id
        created = self.conn.execute(
            statement(
                self.conn,
                "insert_deferral",
                lambda c: insert_ignoring_conflicts(c, deferrals).returning(deferrals.c.id),
            ),
            {
                "recipient": address,
                "original_key": key,
                "key_kind": kind.value,
                "contact_id": contact_id,
                "source": source,
                "first_seen": at,
                "last_seen": at,
                "times_seen": 1,
                "first_event_id": event_id,
                "state": state.value,
                "resolution": resolution,
                "resolved_at": resolved_at,
                "resolved_event_id": resolved_event,
            },
        ).first()
        if created is None:  # seen before: one more notice, and its window may start earlier
            self.conn.execute(
                statement(self.conn, "deferral_seen_again", lambda _c: _seen_again_statement()),
                {"b_recipient": address, "b_key": key, "b_at": at},
            )

    def _close_deferrals(
        self, address: str, original: str | None, category: Category, event_id: int
    ) -> None:
        resolution = Category.DELIVERED if category in _DELIVERED_LIKE else category
        params: dict[str, Any] = {
            "b_recipient": address,
            "b_resolution": resolution.value,
            "b_now": self.now,
            "b_event": event_id,
        }
        if original:
            limit = deferrals.c.original_key.type.length  # type: ignore[attr-defined]
            params["b_key"] = clean_text(original, limit)
        self.conn.execute(
            statement(
                self.conn,
                "close_deferrals_by_key" if original else "close_deferrals",
                lambda _c: _close_deferrals_statement(by_key=bool(original)),
            ),
            params,
        )

    # -- expiry -----------------------------------------------------------------------------

    def expire(self, deferral_id: int, window: timedelta) -> bool:
        """Turn one pending deferral into one soft bounce (`expired`); False if already done."""
        row = (
            self.conn.execute(select(deferrals).where(deferrals.c.id == deferral_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            return False
        claimed = self.conn.execute(
            update(deferrals)
            .where(
                deferrals.c.id == deferral_id,
                deferrals.c.state == DeferralState.PENDING.value,
            )
            .values(
                state=DeferralState.EXPIRED.value,
                resolution=Category.SOFT.value,
                resolved_at=self.now,
            )
        ).rowcount
        if claimed != 1:
            return False
        address: str = row["recipient"]
        contact_id = self._contact(address)
        occurred = min(row["first_seen"] + window, self.now)
        original = (
            row["original_key"]
            if row["key_kind"] == DeferralKeyKind.ORIGINAL_MESSAGE_ID.value
            else None
        )
        event_id = self._insert_event(
            origin=EventOrigin.EXPIRY,
            message_id=None,
            deferral_id=deferral_id,
            contact_id=contact_id,
            source=row["source"],
            recipient=address,
            domain=domain_of(address),
            category=Category.SOFT.value,
            reason=Reason.EXPIRED.value,
            rule="deferral-expired",
            status=None,
            reply_code=None,
            action=None,
            diagnostic=(
                f"no final outcome within {window.total_seconds() / 3600:g} hours of the first "
                f"deferral ({row['times_seen']} deferral notice(s))"
            ),
            remote_mta=None,
            feedback_type=None,
            format=None,
            original_message_id=original,
            campaign=None,
            contact_ref=None,
            trusted=True,
            occurred_at=occurred,
        )
        self.conn.execute(
            update(deferrals)
            .where(deferrals.c.id == deferral_id)
            .values(resolved_event_id=event_id)
        )
        self._count(contact_id, address, Category.SOFT, event_id, occurred)
        self.apply_soft_policy(contact_id, address, event_id, occurred)
        return True


def _final_event_statement() -> Any:
    """The first trusted final verdict for a deferral's recipient and original Message-ID,
    among the events written before the deferral's own (record_batch() inserts a batch's
    events before their effects run)."""
    return (
        select(events.c.id, events.c.category)
        .where(
            events.c.recipient == bindparam("b_recipient"),
            events.c.original_message_id == bindparam("b_key"),
            events.c.trusted.is_(True),
            events.c.category.in_([c.value for c in _FINAL]),
            events.c.id < bindparam("b_event"),
        )
        .order_by(events.c.id)
        .limit(1)
    )


def _seen_again_statement() -> Any:
    at = bindparam("b_at", type_=UTCDateTime())
    return (
        update(deferrals)
        .where(
            deferrals.c.recipient == bindparam("b_recipient"),
            deferrals.c.original_key == bindparam("b_key"),
        )
        .values(
            times_seen=deferrals.c.times_seen + 1,
            last_seen=case((deferrals.c.last_seen < at, at), else_=deferrals.c.last_seen),
            # A notice older than the first one known moves the start of the window back.
            first_seen=case((deferrals.c.first_seen > at, at), else_=deferrals.c.first_seen),
        )
    )


def _close_deferrals_statement(*, by_key: bool) -> Any:
    conditions = [
        deferrals.c.recipient == bindparam("b_recipient"),
        deferrals.c.state == DeferralState.PENDING.value,
    ]
    if by_key:
        conditions.append(deferrals.c.original_key == bindparam("b_key"))
    return (
        update(deferrals)
        .where(*conditions)
        .values(
            state=DeferralState.RESOLVED.value,
            resolution=bindparam("b_resolution"),
            resolved_at=bindparam("b_now", type_=UTCDateTime()),
            resolved_event_id=bindparam("b_event"),
        )
    )


def deferral_key(
    original_message_id: str | None, returned_message_id: str | None, sha256: str
) -> tuple[DeferralKeyKind, str]:
    """The second half of a deferral's key: see the module docstring."""
    if original_message_id:
        return DeferralKeyKind.ORIGINAL_MESSAGE_ID, original_message_id
    if returned_message_id:
        return DeferralKeyKind.RETURNED_MESSAGE_ID, returned_message_id
    return DeferralKeyKind.SHA256, sha256


def pending_deferral_ids(conn: Connection, cutoff: datetime) -> Iterable[int]:
    """Pending deferrals whose first deferral is strictly older than `cutoff`."""
    return [
        int(i)
        for i in conn.execute(
            select(deferrals.c.id)
            .where(
                deferrals.c.state == DeferralState.PENDING.value,
                deferrals.c.first_seen < cutoff,
            )
            .order_by(deferrals.c.id)
        ).scalars()
    ]


def _aware(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
