"""Recording messages: the rows written, idempotency, checkpoints and raw-byte storage."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from returnpath.model import Category, VerpState
from returnpath.storage import Store
from returnpath.storage.tables import CheckpointRow, ContactRow, EventRow, MessageRow
from support.storage_factory import T0, delivery, message


def count(store: Store, table: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_record_writes_message_and_one_event_per_recipient(store: Store) -> None:
    """Scenario: a DSN naming two recipients gives one message row and two events."""
    raw, result = message(
        delivery("a@example.com", Category.HARD),
        delivery("b@example.org", Category.SOFT),
        source="bounces",
        folder="INBOX",
        uidvalidity=7,
        uid=3,
    )
    outcome = store.record(raw, result, now=T0)
    assert outcome.created is True
    assert outcome.events == 2
    assert outcome.unsubscribed == ("a@example.com",)
    assert count(store, MessageRow) == 1
    assert count(store, EventRow) == 2
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                EventRow.recipient, EventRow.category, EventRow.domain, EventRow.trusted
            ).order_by(EventRow.recipient)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("a@example.com", "hard", "example.com", True),
        ("b@example.org", "soft", "example.org", True),
    ]


def test_same_mailbox_key_twice_changes_nothing(store: Store) -> None:
    """Scenario: the service re-finds a message after a crash; the second record is a no-op."""
    raw, result = message(
        delivery("a@example.com", Category.HARD), source="bounces", folder="INBOX",
        uidvalidity=7, uid=3,
    )  # fmt: skip
    first = store.record(raw, result, now=T0)
    second = store.record(raw, result, now=T0 + timedelta(minutes=5))
    assert second.created is False
    assert second.message_id == first.message_id
    assert second.events == 0 and second.unsubscribed == ()
    assert (count(store, MessageRow), count(store, EventRow), count(store, ContactRow)) == (1, 1, 1)
    with store.engine.connect() as conn:
        hard = conn.execute(select(ContactRow.hard_count)).scalar_one()
    assert hard == 1


def test_same_bytes_from_backfill_and_mailbox_are_one_message(store: Store) -> None:
    """Scenario: a file backfill (no uid) and the IMAP service meet the same mail."""
    raw_file, result = message(delivery("a@example.com", Category.SOFT))
    assert raw_file.uid is None and raw_file.source == "file"
    from_file = store.record(raw_file, result, now=T0)
    raw_imap, _ = message(
        delivery("a@example.com", Category.SOFT), source="bounces", folder="INBOX",
        uidvalidity=9, uid=41, data=raw_file.data,
    )  # fmt: skip
    from_imap = store.record(raw_imap, result, now=T0)
    again_file = store.record(raw_file, result, now=T0)
    assert from_file.created is True
    assert from_imap.created is False and from_imap.message_id == from_file.message_id
    assert again_file.created is False
    assert count(store, MessageRow) == 1
    assert count(store, EventRow) == 1
    # The mailbox still moves past the duplicate, so it is not fetched again.
    assert store.checkpoint("bounces", "INBOX") == (9, 41)


def test_checkpoint_tracks_highest_uid_and_resets_on_new_uidvalidity(store: Store) -> None:
    """Scenario: uids arrive out of order, then the folder's UIDVALIDITY changes."""
    assert store.checkpoint("bounces", "INBOX") is None
    for uid in (5, 9, 7):
        raw, result = message(source="bounces", folder="INBOX", uidvalidity=100, uid=uid)
        store.record(raw, result, now=T0)
    assert store.checkpoint("bounces", "INBOX") == (100, 9)
    assert store.is_recorded("bounces", "INBOX", 100, 7)
    assert not store.is_recorded("bounces", "INBOX", 100, 8)
    assert not store.is_recorded("bounces", "INBOX", 101, 7)
    raw, result = message(source="bounces", folder="INBOX", uidvalidity=200, uid=2)
    store.record(raw, result, now=T0)
    assert store.checkpoint("bounces", "INBOX") == (200, 2)
    assert store.checkpoint("bounces", "Other") is None


def test_source_without_uidvalidity_still_unique_by_uid(store: Store) -> None:
    """Scenario: a source with uids but no UIDVALIDITY records each uid once."""
    raw, result = message(source="maildir", folder="new", uidvalidity=None, uid=12)
    assert store.record(raw, result, now=T0).created
    # Different bytes, same key: it is the same message slot, so nothing is recorded.
    other, other_result = message(source="maildir", folder="new", uidvalidity=None, uid=12)
    assert store.record(other, other_result, now=T0).created is False
    assert store.checkpoint("maildir", "new") == (None, 12)
    assert store.is_recorded("maildir", "new", None, 12)


def test_raw_bytes_are_compressed_by_default(make_store) -> None:
    """Scenario: raw mail is kept zlib-compressed, and not at all with store_raw off."""
    store = make_store()
    raw, result = message(data=b"Subject: x\r\n\r\n" + b"bounce text " * 200)
    store.record(raw, result, now=T0)
    with store.engine.connect() as conn:
        blob, encoding, size = conn.execute(
            select(MessageRow.raw, MessageRow.raw_encoding, MessageRow.size)
        ).one()
    assert encoding == "zlib"
    assert zlib.decompress(blob) == raw.data
    assert store.feed(limit=None) == []  # no deliveries in this message: nothing in the feed
    with store.engine.connect() as conn:
        message_row_id = conn.execute(select(MessageRow.id)).scalar_one()
    assert store.raw_bytes(message_row_id) == raw.data
    assert len(blob) < size == len(raw.data)

    plain = make_store(store_raw=False)
    raw2, result2 = message()
    plain.record(raw2, result2, now=T0)
    with plain.engine.connect() as conn:
        stored = conn.execute(
            select(MessageRow.raw, MessageRow.raw_encoding).where(
                MessageRow.sha256 == hashlib.sha256(raw2.data).hexdigest()
            )
        ).first()
    assert stored is not None and tuple(stored) == (None, None)
    with plain.engine.connect() as conn:
        plain_id = conn.execute(
            select(MessageRow.id).where(MessageRow.sha256 == hashlib.sha256(raw2.data).hexdigest())
        ).scalar_one()
    assert plain.raw_bytes(plain_id) is None


def test_unknown_message_is_kept_without_effects(store: Store) -> None:
    """Scenario: a human reply to the bounce address is stored for review and touches no one."""
    raw, result = message()
    outcome = store.record(raw, result, now=T0)
    assert outcome.created and outcome.events == 0
    assert count(store, MessageRow) == 1
    assert count(store, ContactRow) == 0


def test_recipients_are_normalised_and_deduplicated(store: Store) -> None:
    """Scenario: one report names the same recipient twice in different case."""
    raw, result = message(
        delivery("<User@Example.COM>", Category.SOFT),
        delivery("user@example.com", Category.SOFT),
        verp=VerpState.ABSENT,
    )
    outcome = store.record(raw, result, now=T0)
    assert outcome.events == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(ContactRow.address)).scalars().all() == ["user@example.com"]


def test_checkpoint_table_untouched_for_files(store: Store) -> None:
    """Scenario: a file backfill has no uid, so no checkpoint row is written."""
    raw, result = message(delivery("a@example.com", Category.SOFT))
    store.record(raw, result, now=T0)
    assert count(store, CheckpointRow) == 0


def test_text_postgresql_would_refuse_is_cleaned(store: Store) -> None:
    """Scenario: real mail with a NUL in the subject, a lone surrogate and an overlong rule."""
    raw, result = message(delivery("a@example.com", Category.SOFT))
    result = replace(
        result,
        subject="Mail delivery failed\x00",
        deliveries=(
            replace(result.deliveries[0], diagnostic="bad \udcff byte", reply_code="5" * 40),
        ),
    )
    assert store.record(raw, result, now=T0).created
    with store.engine.connect() as conn:
        subject = conn.execute(select(MessageRow.subject)).scalar_one()
        diagnostic, code = conn.execute(select(EventRow.diagnostic, EventRow.reply_code)).one()
    assert subject == "Mail delivery failed\ufffd"
    assert diagnostic == "bad ? byte"
    assert code == "5" * 10


def test_overlong_recipients_that_collide_when_cut_are_one_event(store: Store) -> None:
    """Scenario: a broken report names two 400-character non-addresses sharing a prefix."""
    prefix = "x" * 330
    raw, result = message(
        delivery(prefix + " one", Category.SOFT), delivery(prefix + " two", Category.SOFT)
    )
    outcome = store.record(raw, result, now=T0)
    assert outcome.created and outcome.events == 1
    assert count(store, EventRow) == 1
