"""Real returned mail end to end: fixtures/**/*.eml through parse() into the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from returnpath.model import UNSUBSCRIBING_FEEDBACK_TYPES, Category, ParseResult, RawMessage
from returnpath.parsers import parse
from returnpath.storage import Store, normalise_address
from returnpath.storage.tables import DeferralRow, EventRow, MessageRow
from support.storage_factory import T0

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_mail() -> list[tuple[RawMessage, ParseResult]]:
    pairs = []
    for path in sorted(FIXTURES.rglob("*.eml")):
        data = path.read_bytes()
        pairs.append((RawMessage("file", "", None, None, data, path=str(path)), parse(data)))
    return pairs


def expected_statuses(pairs: list[tuple[RawMessage, ParseResult]]) -> dict[str, str]:
    """What DESIGN.md §1 says each recipient's status must be after all of this mail."""
    status: dict[str, str] = {}
    for _raw, result in pairs:
        for d in result.deliveries:
            address = normalise_address(d.recipient)
            if address is None or d.verdict is None:
                continue
            status.setdefault(address, "subscribed")
            complaint_unsubscribes = (
                d.verdict.category is Category.COMPLAINT
                and (d.feedback_type or "").lower() in UNSUBSCRIBING_FEEDBACK_TYPES
            )
            if d.verdict.category is Category.HARD or complaint_unsubscribes:
                status[address] = "unsubscribed"
    return status


def test_fixture_mail_recorded_with_its_effects(store: Store) -> None:
    """Scenario: a backfill of every fixture; statuses follow the verdicts; a rerun is a no-op."""
    pairs = fixture_mail()
    assert len(pairs) >= 20, "the fixture set is expected to hold real bounces"
    for raw, result in pairs:
        outcome = store.record(raw, result, now=T0)
        distinct = {normalise_address(d.recipient) or d.recipient for d in result.deliveries}
        assert outcome.created, raw.path
        assert outcome.events == len(distinct), raw.path
    expected = expected_statuses(pairs)
    assert "unsubscribed" in expected.values() and "subscribed" in expected.values()
    for address, status in expected.items():
        view = store.contact(address, events_limit=0)
        assert view.status == status, address
    with store.engine.connect() as conn:
        counts = (
            conn.execute(select(func.count()).select_from(MessageRow)).scalar_one(),
            conn.execute(select(func.count()).select_from(EventRow)).scalar_one(),
        )
    assert counts[0] == len({raw.data for raw, _ in pairs})
    # The same files again, as a second backfill run: nothing changes.
    for raw, result in pairs:
        assert store.record(raw, result, now=T0 + timedelta(hours=1)).created is False
    with store.engine.connect() as conn:
        again = (
            conn.execute(select(func.count()).select_from(MessageRow)).scalar_one(),
            conn.execute(select(func.count()).select_from(EventRow)).scalar_one(),
        )
    assert again == counts


def test_real_delay_notice_expires_into_a_soft_bounce(store: Store) -> None:
    """Scenario: Postfix's delayed DSN opens a deferral that expires 72 hours later."""
    data = (FIXTURES / "postfix" / "dsn-delayed-timeout.eml").read_bytes()
    result = parse(data)
    (d,) = result.deliveries
    assert d.verdict is not None and d.verdict.category is Category.DEFERRAL
    store.record(RawMessage("file", "", None, None, data, received_at=T0), result, now=T0)
    with store.engine.connect() as conn:
        key, state = conn.execute(select(DeferralRow.original_key, DeferralRow.state)).one()
    assert key == (d.original_message_id or result.original_message_id)
    assert state == "pending"
    assert store.expire_deferrals(T0 + timedelta(hours=72)) == 0
    assert store.expire_deferrals(T0 + timedelta(hours=72, seconds=1)) == 1
    (latest,) = store.feed(contact=d.recipient, limit=1)
    assert (latest.category, latest.reason) == ("soft", "expired")
