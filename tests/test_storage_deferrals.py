"""Deferral bookkeeping and expiry (a deferral still open after the window is a soft bounce)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from returnpath.model import Category, Reason
from returnpath.storage import Store
from returnpath.storage.tables import ContactRow, DeferralRow, EventRow
from support.storage_factory import T0, delivery, message

WINDOW = timedelta(hours=72)


def deferrals(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(DeferralRow.__table__).order_by(DeferralRow.id)).mappings()
        return [dict(r) for r in rows]


def soft_count(store: Store, address: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(ContactRow.soft_count).where(ContactRow.address == address)
            ).scalar_one()
        )


def defer(store: Store, address: str, original: str | None, when, **kw) -> None:
    raw, result = message(
        delivery(address, Category.DEFERRAL, original_message_id=original), received_at=when, **kw
    )
    store.record(raw, result, now=when)


def test_deferral_opens_pending_and_repeats_update_it(store: Store) -> None:
    """Scenario: two delay notices for the same original message keep one pending deferral."""
    defer(store, "slow@example.com", "<orig-1@sender>", T0)
    defer(store, "slow@example.com", "<orig-1@sender>", T0 + timedelta(hours=4))
    (row,) = deferrals(store)
    assert row["state"] == "pending"
    assert row["original_key"] == "<orig-1@sender>"
    assert row["key_kind"] == "original_message_id"
    assert (row["first_seen"], row["last_seen"], row["times_seen"]) == (
        T0,
        T0 + timedelta(hours=4),
        2,
    )


def test_expiry_at_the_boundary_is_exactly_once(store: Store) -> None:
    """Scenario: at exactly 72 h nothing expires; one second later one soft bounce, once."""
    defer(store, "slow@example.com", "<orig-1@sender>", T0)
    assert store.expire_deferrals(T0 + WINDOW) == 0
    assert deferrals(store)[0]["state"] == "pending"
    assert store.expire_deferrals(T0 + WINDOW + timedelta(seconds=1)) == 1
    assert store.expire_deferrals(T0 + WINDOW + timedelta(seconds=2)) == 0
    assert store.expire_deferrals(T0 + WINDOW + timedelta(days=30)) == 0
    (row,) = deferrals(store)
    assert (row["state"], row["resolution"]) == ("expired", "soft")
    with store.engine.connect() as conn:
        expired = conn.execute(
            select(EventRow.category, EventRow.reason, EventRow.origin, EventRow.occurred_at).where(
                EventRow.deferral_id == row["id"]
            )
        ).all()
    assert [tuple(e) for e in expired] == [("soft", "expired", "expiry", T0 + WINDOW)]
    assert soft_count(store, "slow@example.com") == 1


def test_window_is_configurable(make_store) -> None:
    """Scenario: with a 24-hour window a deferral expires after a day."""
    store = make_store(deferral_window_hours=24)
    defer(store, "slow@example.com", "<o@s>", T0)
    assert store.expire_deferrals(T0 + timedelta(hours=24)) == 0
    assert store.expire_deferrals(T0 + timedelta(hours=24, minutes=1)) == 1


def test_window_counts_from_the_first_deferral(store: Store) -> None:
    """Scenario: later delay notices do not move the start of the 72-hour window."""
    defer(store, "slow@example.com", "<o@s>", T0)
    defer(store, "slow@example.com", "<o@s>", T0 + timedelta(hours=60))
    assert store.expire_deferrals(T0 + WINDOW + timedelta(minutes=1)) == 1


def test_failed_verdict_closes_deferral_with_its_category(store: Store) -> None:
    """Scenario: after a delay, the final DSN says the user is unknown."""
    defer(store, "slow@example.com", "<o@s>", T0)
    raw, result = message(
        delivery("slow@example.com", Category.HARD, original_message_id="<o@s>"),
        received_at=T0 + timedelta(hours=5),
    )
    store.record(raw, result, now=T0 + timedelta(hours=5))
    (row,) = deferrals(store)
    assert (row["state"], row["resolution"]) == ("resolved", "hard")
    assert store.expire_deferrals(T0 + WINDOW * 2) == 0


def test_expired_status_failure_is_soft_and_closes_the_deferral(store: Store) -> None:
    """Scenario: the sender's MTA gives up with 4.4.7 expired, which classifies as soft."""
    defer(store, "slow@example.com", "<o@s>", T0)
    raw, result = message(
        delivery("slow@example.com", Category.SOFT, Reason.EXPIRED, original_message_id="<o@s>"),
    )
    store.record(raw, result, now=T0 + timedelta(days=5))
    (row,) = deferrals(store)
    assert (row["state"], row["resolution"]) == ("resolved", "soft")
    assert store.expire_deferrals(T0 + WINDOW * 3) == 0
    assert soft_count(store, "slow@example.com") == 1


def test_auto_reply_and_delivered_close_as_delivered(store: Store) -> None:
    """Scenario: a vacation reply or a positive DSN proves the deferred mail arrived."""
    defer(store, "a@example.com", "<o1@s>", T0)
    defer(store, "b@example.com", "<o2@s>", T0)
    raw, result = message(
        delivery("a@example.com", Category.AUTO_REPLY, original_message_id="<o1@s>")
    )
    store.record(raw, result, now=T0 + timedelta(hours=1))
    raw, result = message(
        delivery("b@example.com", Category.DELIVERED, original_message_id="<o2@s>")
    )
    store.record(raw, result, now=T0 + timedelta(hours=1))
    assert [(r["state"], r["resolution"]) for r in deferrals(store)] == [
        ("resolved", "delivered"),
        ("resolved", "delivered"),
    ]
    assert store.expire_deferrals(T0 + WINDOW * 2) == 0


def test_final_verdict_for_another_original_leaves_deferral_pending(store: Store) -> None:
    """Scenario: a bounce of a different message to the same recipient does not close it."""
    defer(store, "slow@example.com", "<o1@s>", T0)
    raw, result = message(delivery("slow@example.com", Category.SOFT, original_message_id="<o2@s>"))
    store.record(raw, result, now=T0 + timedelta(hours=1))
    assert deferrals(store)[0]["state"] == "pending"
    assert store.expire_deferrals(T0 + WINDOW + timedelta(seconds=1)) == 1


def test_fallback_key_without_original_message_id(store: Store) -> None:
    """Scenario: a delay notice without the original's Message-ID keys on its own Message-ID."""
    defer(store, "slow@example.com", None, T0, message_id="<dsn-77@mta>")
    (row,) = deferrals(store)
    assert (row["key_kind"], row["original_key"]) == ("returned_message_id", "<dsn-77@mta>")
    # A final verdict with no original Message-ID closes the recipient's pending deferrals.
    raw, result = message(delivery("slow@example.com", Category.DELIVERED))
    store.record(raw, result, now=T0 + timedelta(hours=2))
    assert deferrals(store)[0]["state"] == "resolved"


def test_final_outcome_before_the_delay_notice(store: Store) -> None:
    """Scenario: a backfill meets the delivered DSN first, then the earlier delay notice."""
    raw, result = message(
        delivery("slow@example.com", Category.DELIVERED, original_message_id="<o@s>")
    )
    store.record(raw, result, now=T0 + timedelta(hours=3))
    defer(store, "slow@example.com", "<o@s>", T0)
    (row,) = deferrals(store)
    assert (row["state"], row["resolution"]) == ("resolved", "delivered")
    assert store.expire_deferrals(T0 + WINDOW * 2) == 0


def test_expiry_counts_toward_the_soft_policy(make_store) -> None:
    """Scenario: with a soft limit of 1, an expired deferral unsubscribes (soft_limit)."""
    store = make_store(soft_bounce_limit=1)
    defer(store, "slow@example.com", "<o@s>", T0)
    assert store.expire_deferrals(T0 + WINDOW + timedelta(hours=1)) == 1
    with store.engine.connect() as conn:
        status, reason = conn.execute(
            select(ContactRow.status, ContactRow.unsubscribe_reason)
        ).one()
    assert (status, reason) == ("unsubscribed", "soft_limit")
