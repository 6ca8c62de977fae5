"""Contact effects of recorded verdicts (DESIGN.md §1), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from returnpath.model import Category, Reason, VerpState
from returnpath.storage import Store
from returnpath.storage.tables import ContactHistoryRow, ContactRow, EventRow
from support.storage_factory import T0, delivery, message


def contact(store: Store, address: str) -> ContactRow | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(ContactRow).where(ContactRow.address == address)).first()
    return None if row is None else row[0]


def contact_row(store: Store, address: str) -> dict:
    with store.engine.connect() as conn:
        row = (
            conn.execute(select(ContactRow.__table__).where(ContactRow.address == address))
            .mappings()
            .first()
        )
    assert row is not None, f"no contact {address}"
    return dict(row)


def history(store: Store, address: str) -> list[tuple]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ContactHistoryRow.change, ContactHistoryRow.reason, ContactHistoryRow.actor)
            .join(ContactRow, ContactRow.id == ContactHistoryRow.contact_id)
            .where(ContactRow.address == address)
            .order_by(ContactHistoryRow.id)
        ).all()
    return [tuple(r) for r in rows]


def test_hard_bounce_unsubscribes_at_once(store: Store) -> None:
    """Scenario: an unknown-user bounce unsubscribes the recipient with reason hard_bounce."""
    raw, result = message(delivery("gone@example.com", Category.HARD))
    outcome = store.record(raw, result, now=T0)
    row = contact_row(store, "gone@example.com")
    assert row["status"] == "unsubscribed"
    assert row["unsubscribe_reason"] == "hard_bounce"
    assert row["unsubscribed_at"] == T0
    assert row["hard_count"] == 1
    with store.engine.connect() as conn:
        event_id = conn.execute(select(EventRow.id)).scalar_one()
    assert row["unsubscribe_event_id"] == event_id
    assert outcome.unsubscribed == ("gone@example.com",)
    assert history(store, "gone@example.com") == [("unsubscribed", "hard_bounce", "returnpath")]


def test_second_hard_bounce_adds_event_not_status_change(store: Store) -> None:
    """Scenario: an unsubscribed address hard-bounces again."""
    for minutes in (0, 10):
        raw, result = message(delivery("gone@example.com", Category.HARD))
        store.record(raw, result, now=T0 + timedelta(minutes=minutes))
    row = contact_row(store, "gone@example.com")
    assert row["hard_count"] == 2
    assert row["unsubscribed_at"] == T0
    assert len(history(store, "gone@example.com")) == 1


@pytest.mark.parametrize("feedback", ["abuse", "fraud", "opt-out", "Abuse"])
def test_complaint_that_unsubscribes(store: Store, feedback: str) -> None:
    """Scenario: an ARF abuse/fraud/opt-out report unsubscribes with reason complaint."""
    raw, result = message(delivery("angry@example.com", Category.COMPLAINT, feedback_type=feedback))
    outcome = store.record(raw, result, now=T0)
    row = contact_row(store, "angry@example.com")
    assert (row["status"], row["unsubscribe_reason"]) == ("unsubscribed", "complaint")
    assert row["complaint_count"] == 1
    assert outcome.unsubscribed == ("angry@example.com",)


@pytest.mark.parametrize("feedback", ["auth-failure", "not-spam", None])
def test_complaint_that_is_only_recorded(store: Store, feedback: str | None) -> None:
    """Scenario: a DMARC auth-failure or not-spam report is recorded and unsubscribes no one."""
    raw, result = message(delivery("fine@example.com", Category.COMPLAINT, feedback_type=feedback))
    outcome = store.record(raw, result, now=T0)
    row = contact_row(store, "fine@example.com")
    assert row["status"] == "subscribed"
    assert row["complaint_count"] == 1
    assert outcome.events == 1 and outcome.unsubscribed == ()


@pytest.mark.parametrize(
    ("category", "reason", "column"),
    [
        (Category.SOFT, Reason.MAILBOX_FULL, "soft_count"),
        (Category.BLOCK, Reason.BLOCKED, "block_count"),
        (Category.AUTO_REPLY, Reason.VACATION, "auto_reply_count"),
        (Category.DELIVERED, Reason.DELIVERED, "delivered_count"),
    ],
)
def test_non_fatal_categories_count_and_keep_subscribed(
    store: Store, category: Category, reason: Reason, column: str
) -> None:
    """Scenario: soft, block, auto-reply and delivered verdicts bump their counter only."""
    for minutes in (0, 1, 2):
        raw, result = message(delivery("ok@example.com", category, reason))
        store.record(raw, result, now=T0 + timedelta(minutes=minutes))
    row = contact_row(store, "ok@example.com")
    assert row["status"] == "subscribed"
    assert row[column] == 3
    assert row["last_category"] == category.value
    others = [
        c for c in ("hard_count", "soft_count", "block_count", "complaint_count") if c != column
    ]
    assert all(row[c] == 0 for c in others)
    assert history(store, "ok@example.com") == []


def test_untrusted_verdict_is_recorded_and_changes_no_contact(make_store) -> None:
    """Scenario: signed VERP is required and a hard bounce arrives without a valid token."""
    store = make_store(require_signed_verp=True)
    for verp in (VerpState.ABSENT, VerpState.INVALID):
        raw, result = message(delivery("victim@example.com", Category.HARD), verp=verp)
        outcome = store.record(raw, result, now=T0)
        assert outcome.events == 1 and outcome.unsubscribed == ()
    assert contact(store, "victim@example.com") is None
    with store.engine.connect() as conn:
        trusted = conn.execute(select(EventRow.trusted)).scalars().all()
    assert trusted == [False, False]
    # A valid token makes the same kind of bounce act.
    raw, result = message(delivery("victim@example.com", Category.HARD), verp=VerpState.VALID)
    assert store.record(raw, result, now=T0).unsubscribed == ("victim@example.com",)


def test_without_signed_verp_required_absent_token_is_trusted(store: Store) -> None:
    """Scenario: the default config trusts bounces without a VERP token."""
    raw, result = message(delivery("x@example.com", Category.HARD), verp=VerpState.ABSENT)
    assert store.record(raw, result, now=T0).unsubscribed == ("x@example.com",)


def test_soft_policy_off_by_default(store: Store) -> None:
    """Scenario: twenty soft bounces leave the contact subscribed when the policy is off."""
    for day in range(20):
        raw, result = message(delivery("full@example.com", Category.SOFT))
        store.record(raw, result, now=T0 + timedelta(hours=day))
    row = contact_row(store, "full@example.com")
    assert (row["status"], row["soft_count"]) == ("subscribed", 20)


def test_soft_policy_unsubscribes_after_n_within_window(make_store) -> None:
    """Scenario: limit 3 in 7 days; blocks count, and bounces outside the window do not."""
    store = make_store(soft_bounce_limit=3, soft_bounce_window_days=7)
    steps = [
        (T0, Category.SOFT),
        (T0 + timedelta(days=8), Category.BLOCK),  # the first has left the window
        (T0 + timedelta(days=9), Category.SOFT),
    ]
    for when, category in steps:
        raw, result = message(delivery("flaky@example.com", category), received_at=when)
        assert store.record(raw, result, now=when).unsubscribed == ()
    assert contact_row(store, "flaky@example.com")["status"] == "subscribed"
    when = T0 + timedelta(days=10)
    raw, result = message(delivery("flaky@example.com", Category.SOFT), received_at=when)
    assert store.record(raw, result, now=when).unsubscribed == ("flaky@example.com",)
    row = contact_row(store, "flaky@example.com")
    assert (row["status"], row["unsubscribe_reason"]) == ("unsubscribed", "soft_limit")


def test_campaign_and_contact_headers_are_copied_onto_events(store: Store) -> None:
    """Scenario: the returned original carries the configured correlation headers."""
    raw, result = message(
        delivery("a@example.com", Category.SOFT),
        original_headers=(("x-campaign-id", "spring-sale"), ("x-contact-id", "c-42")),
    )
    store.record(raw, result, now=T0)
    with store.engine.connect() as conn:
        campaign, ref = conn.execute(select(EventRow.campaign, EventRow.contact_ref)).one()
    assert (campaign, ref) == ("spring-sale", "c-42")


def test_recipient_that_is_not_an_address_touches_no_contact(store: Store) -> None:
    """Scenario: a format extracted garbage as the recipient; the event keeps it verbatim."""
    raw, result = message(delivery("not an address", Category.HARD))
    outcome = store.record(raw, result, now=T0)
    assert outcome.events == 1 and outcome.unsubscribed == ()
    with store.engine.connect() as conn:
        assert conn.execute(select(EventRow.recipient)).scalar_one() == "not an address"
        assert conn.execute(select(ContactRow.id)).first() is None


def test_soft_policy_counts_afresh_after_reenable(make_store) -> None:
    """Scenario: a soft-limited contact is re-enabled; the old soft bounces no longer count."""
    store = make_store(soft_bounce_limit=2)
    for hours in (0, 1):
        raw, result = message(delivery("flaky@example.com", Category.SOFT))
        store.record(raw, result, now=T0 + timedelta(hours=hours))
    assert contact_row(store, "flaky@example.com")["unsubscribe_reason"] == "soft_limit"
    store.reenable("flaky@example.com", actor="ops", now=T0 + timedelta(hours=2))
    raw, result = message(delivery("flaky@example.com", Category.SOFT))
    assert store.record(raw, result, now=T0 + timedelta(hours=3)).unsubscribed == ()
    raw, result = message(delivery("flaky@example.com", Category.SOFT))
    assert store.record(raw, result, now=T0 + timedelta(hours=4)).unsubscribed == (
        "flaky@example.com",
    )
