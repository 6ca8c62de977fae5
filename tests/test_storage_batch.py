"""Store.record_many: a batch in one transaction, a savepoint per message."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from returnpath.config import Settings
from returnpath.model import Category
from returnpath.storage import RecordFailure, RecordOutcome, Store, open_store
from returnpath.storage import recorder as recorder_module
from returnpath.storage.tables import (
    Base,
    ContactHistoryRow,
    ContactRow,
    EventRow,
    MessageRow,
)
from support.pg_fixtures import TABLES, truncate_all
from support.storage_factory import T0, delivery, message


def count(store: Store, table: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def box_message(uid: int, *deliveries: Any) -> Any:
    return message(*deliveries, source="bounces", folder="INBOX", uidvalidity=9, uid=uid)


def test_batch_records_what_one_by_one_would(store: Store) -> None:
    """Scenario: five bounces in one batch: the rows, outcomes and checkpoint of five records."""
    items = [
        box_message(uid, delivery(f"r{uid}@example.com", Category.HARD if uid % 2 else
                                  Category.SOFT))
        for uid in range(1, 6)
    ]
    outcomes = store.record_many(items, now=T0)
    assert [type(o) for o in outcomes] == [RecordOutcome] * 5
    assert all(isinstance(o, RecordOutcome) and o.created and o.events == 1 for o in outcomes)
    assert [o.unsubscribed for o in outcomes if isinstance(o, RecordOutcome)] == [
        ("r1@example.com",), (), ("r3@example.com",), (), ("r5@example.com",)
    ]
    assert count(store, MessageRow) == count(store, EventRow) == 5
    assert count(store, ContactHistoryRow) == 3
    assert store.checkpoint("bounces", "INBOX") == (9, 5)


def test_bad_message_in_the_middle_is_the_only_one_lost(store: Store) -> None:
    """Scenario: message 3 of 5 fails on its own: a failure for it, the other four committed."""
    items = [box_message(uid, delivery(f"m{uid}@example.com", Category.SOFT))
             for uid in range(1, 6)]
    raw, result = items[2]
    # A defect the JSON column cannot serialise: an error of this message alone.
    items[2] = (raw, replace(result, defects=(object(),)))  # type: ignore[arg-type]
    outcomes = store.record_many(items, now=T0)
    assert isinstance(outcomes[2], RecordFailure)
    assert all(isinstance(o, RecordOutcome) and o.created for i, o in enumerate(outcomes)
               if i != 2)
    assert count(store, MessageRow) == count(store, EventRow) == 4
    assert not store.is_recorded("bounces", "INBOX", 9, 3)
    assert store.is_recorded("bounces", "INBOX", 9, 4)
    # Its contact was rolled back with it; the next message's contact was not.
    with store.engine.connect() as conn:
        addresses = set(conn.execute(select(EventRow.recipient)).scalars())
    assert addresses == {"m1@example.com", "m2@example.com", "m4@example.com", "m5@example.com"}
    assert store.checkpoint("bounces", "INBOX") == (9, 5)


def test_duplicates_in_and_across_batches_change_nothing(store: Store) -> None:
    """Scenario: a re-found message and two copies of the same bytes in one batch: one row each."""
    first = box_message(1, delivery("a@example.com", Category.HARD))
    assert store.record(*first, now=T0).created
    twin = box_message(2, delivery("b@example.com", Category.SOFT))
    copy = (replace(twin[0], uid=3), twin[1])  # same bytes under another uid
    outcomes = store.record_many([first, twin, copy], now=T0)
    assert [o.created for o in outcomes if isinstance(o, RecordOutcome)] == [False, True, False]
    assert len({o.message_id for o in outcomes if isinstance(o, RecordOutcome)}) == 2
    assert count(store, MessageRow) == count(store, EventRow) == 2
    assert count(store, ContactHistoryRow) == 1
    assert store.checkpoint("bounces", "INBOX") == (9, 3)


def test_database_error_rolls_back_the_whole_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario: the database fails on message 2 of 3: nothing of the batch is committed."""
    items = [box_message(uid, delivery(f"d{uid}@example.com", Category.SOFT))
             for uid in range(1, 4)]
    real = recorder_module.Recorder._effects
    calls = 0

    def failing(self: Any, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second recipient's effects: message 2
            raise OperationalError("UPDATE", {}, Exception("disk I/O error"))
        return real(self, *args)

    monkeypatch.setattr(recorder_module.Recorder, "_effects", failing)
    with pytest.raises(OperationalError):
        store.record_many(items, now=T0)
    assert count(store, MessageRow) == 0
    assert store.checkpoint("bounces", "INBOX") is None


def test_empty_batch(store: Store) -> None:
    """Scenario: an empty batch writes nothing and returns no outcomes."""
    assert store.record_many([], now=T0) == []
    assert count(store, MessageRow) == 0


def test_contact_made_by_a_failed_message_is_not_reused(store: Store) -> None:
    """Scenario: a message fails after creating its contact; a later one in the batch for the
    same new address creates it again and counts on it."""
    ok = box_message(1, delivery("a@example.com", Category.SOFT))
    raw, result = box_message(2, delivery("z@example.com", Category.COMPLAINT))
    broken = replace(result.deliveries[0], feedback_type=123)  # type: ignore[arg-type]
    bad = (raw, replace(result, deliveries=(broken,)))
    later = box_message(3, delivery("z@example.com", Category.SOFT))
    outcomes = store.record_many([ok, bad, later], now=T0)
    assert isinstance(outcomes[1], RecordFailure)
    assert isinstance(outcomes[2], RecordOutcome) and outcomes[2].created
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ContactRow.address, ContactRow.soft_count, ContactRow.complaint_count)
            .order_by(ContactRow.address)
        ).all()
    assert [tuple(r) for r in rows] == [("a@example.com", 1, 0), ("z@example.com", 1, 0)]


def _mixed_traffic(seed: int) -> list[tuple[Any, Any]]:
    """120 returned messages for twelve addresses: every category (hard bounces and abuse
    complaints for one address only, so the others live to reach the soft-bounce limit),
    shared original Message-IDs (deferrals and their final verdicts, in either order),
    arrival times out of order, and a few messages naming two recipients."""
    rng = random.Random(seed)
    categories = [Category.HARD, Category.SOFT, Category.BLOCK, Category.DEFERRAL,
                  Category.DEFERRAL, Category.DELIVERED, Category.AUTO_REPLY,
                  Category.COMPLAINT, Category.UNKNOWN]
    items = []
    for uid in range(1, 121):
        picked = []
        for address in rng.sample(range(12), rng.choice([1, 1, 1, 2])):
            category = rng.choice(categories)
            if category is Category.HARD and address != 0:
                category = Category.SOFT
            picked.append(delivery(
                f"c{address}@example.com", category,
                original_message_id=rng.choice([None, "<o1@s>", "<o2@s>", "<o3@s>"]),
                feedback_type=("abuse" if address == 0 else "not-spam")
                if category is Category.COMPLAINT else None,
            ))
        received = T0 - timedelta(hours=rng.randrange(0, 200))
        items.append(message(*picked, source="bounces", folder="INBOX", uidvalidity=9,
                             uid=uid, received_at=received))
    return items


def _dump(store: Store) -> dict[str, list[Any]]:
    dumped = {}
    with store.engine.connect() as conn:
        for name in TABLES:
            table = Base.metadata.tables[name]
            order = table.c.id if "id" in table.c else table.c.source
            dumped[name] = list(conn.execute(select(table).order_by(order)))
    return dumped


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_write_exactly_the_rows_of_one_by_one(
    backend: str, store_url: str, make_store: Any, sqlite_template: Path, tmp_path: Path,
    seed: int,
) -> None:
    """Scenario: mixed traffic with the soft-bounce policy on, recorded message by message and
    then in batches of seven into an empty database: every row of every table is the same."""
    items = _mixed_traffic(seed)
    one_by_one = make_store(soft_bounce_limit=2)
    for raw, result in items:
        one_by_one.record(raw, result, now=T0)
    expected = _dump(one_by_one)
    if backend == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "batched.db")
        url = f"sqlite:///{tmp_path / 'batched.db'}"
    else:
        truncate_all(store_url)
        url = store_url
    batched = open_store(url, settings=Settings(database_url=url, soft_bounce_limit=2))
    try:
        for start in range(0, len(items), 7):
            outcomes = batched.record_many(items[start : start + 7], now=T0)
            assert all(isinstance(o, RecordOutcome) and o.created for o in outcomes)
        assert _dump(batched) == expected
    finally:
        batched.close()
    # the traffic reaches every path the batch changes
    deferral_states = {row.state for row in expected["deferrals"]}
    reasons = {row.reason for row in expected["contact_history"]}
    assert deferral_states == {"pending", "resolved"}
    assert "soft_limit" in reasons
