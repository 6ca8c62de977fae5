"""Two processes recording at once on PostgreSQL: the unique keys keep the data exact."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select

from returnpath.model import Category, ParseResult, RawMessage
from returnpath.storage import RecordFailure, open_store
from returnpath.storage.tables import ContactHistoryRow, ContactRow, EventRow, MessageRow
from support.pg_fixtures import truncate_all
from support.storage_factory import T0, delivery, message

pytestmark = pytest.mark.postgres

ROUNDS = 15


def _recorder(
    url: str,
    batch: list[tuple[RawMessage, ParseResult]],
    barrier: Barrier,
    out: multiprocessing.Queue,
) -> None:
    store = open_store(url, upgrade=False)
    created: list[bool] | str = []
    try:
        for raw, result in batch:
            barrier.wait(timeout=60)  # both processes start each message together
            created.append(store.record(raw, result, now=T0).created)
    except Exception as exc:  # reported to the test instead of a silent dead child
        barrier.abort()
        created = repr(exc)
    finally:
        store.close()
    out.put(created)


def _batch_recorder(
    url: str,
    batch: list[tuple[RawMessage, ParseResult]],
    barrier: Barrier,
    out: multiprocessing.Queue,
) -> None:
    store = open_store(url, upgrade=False)
    created: list[bool] | str = []
    try:
        for start in range(0, len(batch), 5):
            barrier.wait(timeout=60)  # both processes start each batch together
            outcomes = store.record_many(batch[start : start + 5], now=T0)
            created.extend(bool(getattr(o, "created", None)) for o in outcomes)
            if any(isinstance(o, RecordFailure) for o in outcomes):
                raise AssertionError(f"failures in a batch: {outcomes}")
    except Exception as exc:
        barrier.abort()
        created = repr(exc)
    finally:
        store.close()
    out.put(created)


def _run_pair(
    url: str, batches: list[list[tuple[RawMessage, ParseResult]]], target: Any = _recorder
) -> list[list[bool]]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(batches))
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, b, barrier, out)) for b in batches]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(isinstance(r, list) for r in results), results
    return results


def _counts(url: str) -> dict[str, int]:
    store = open_store(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            return {
                table.__tablename__: conn.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
                for table in (MessageRow, EventRow, ContactRow, ContactHistoryRow)
            }
    finally:
        store.close()


def _block_count(url: str, address: str) -> int:
    store = open_store(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            return conn.execute(
                select(ContactRow.block_count).where(ContactRow.address == address)
            ).scalar_one()
    finally:
        store.close()


def test_same_messages_recorded_by_two_processes(pg_store_url: str) -> None:
    """Scenario: two recorders race on the same 15 three-recipient bounces, message by message."""
    truncate_all(pg_store_url)
    batch = [
        message(
            delivery(f"hard{i}@example.com", Category.HARD),
            delivery(f"soft{i}@example.com", Category.SOFT),
            delivery("shared@example.com", Category.BLOCK),
            source="bounces",
            folder="INBOX",
            uidvalidity=1,
            uid=i + 1,
        )
        for i in range(ROUNDS)
    ]
    first, second = _run_pair(pg_store_url, [batch, batch])
    # Each message was created by exactly one of the two processes.
    assert all(a != b for a, b in zip(first, second, strict=True))
    counts = _counts(pg_store_url)
    assert counts["messages"] == ROUNDS
    assert counts["events"] == 3 * ROUNDS
    assert counts["contacts"] == 2 * ROUNDS + 1
    assert counts["contact_history"] == ROUNDS  # one unsubscribe per hard-bounced address
    assert _block_count(pg_store_url, "shared@example.com") == ROUNDS


def test_same_batches_recorded_by_two_processes(pg_store_url: str) -> None:
    """Scenario: two batch recorders race on the same bounces, five per transaction."""
    truncate_all(pg_store_url)
    batch = [
        message(
            delivery(f"hard{i}@example.com", Category.HARD),
            delivery("shared@example.com", Category.BLOCK),
            source="bounces",
            folder="INBOX",
            uidvalidity=1,
            uid=i + 1,
        )
        for i in range(ROUNDS)
    ]
    # The second process meets the batch in reverse order: the worst case for lock order.
    first, second = _run_pair(pg_store_url, [batch, batch[::-1]], target=_batch_recorder)
    assert sum(first) + sum(second) == ROUNDS
    counts = _counts(pg_store_url)
    assert counts["messages"] == ROUNDS
    assert counts["events"] == 2 * ROUNDS
    assert counts["contacts"] == ROUNDS + 1
    assert counts["contact_history"] == ROUNDS
    assert _block_count(pg_store_url, "shared@example.com") == ROUNDS


def test_different_messages_for_one_recipient_at_once(pg_store_url: str) -> None:
    """Scenario: two recorders each record their own hard bounces of the same new address."""
    truncate_all(pg_store_url)
    batches = [
        [message(delivery("one@example.com", Category.HARD)) for _ in range(ROUNDS)]
        for _ in range(2)
    ]
    first, second = _run_pair(pg_store_url, batches)
    assert all(first) and all(second)
    counts = _counts(pg_store_url)
    assert counts["messages"] == counts["events"] == 2 * ROUNDS
    assert counts["contacts"] == 1
    assert counts["contact_history"] == 1  # unsubscribed once, whoever won
    store = open_store(pg_store_url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            hard, status = conn.execute(select(ContactRow.hard_count, ContactRow.status)).one()
    finally:
        store.close()
    assert (hard, status) == (2 * ROUNDS, "unsubscribed")


def _expirer(url: str, barrier: Barrier, out: multiprocessing.Queue) -> None:
    store = open_store(url, upgrade=False)
    try:
        barrier.wait(timeout=60)
        out.put(store.expire_deferrals(T0 + timedelta(days=4)))
    except Exception as exc:  # reported to the test instead of a silent dead child
        out.put(repr(exc))
    finally:
        store.close()


def test_two_expiry_jobs_at_once_expire_each_deferral_once(pg_store_url: str) -> None:
    """Scenario: two service instances run the deferral-expiry job at the same moment."""
    truncate_all(pg_store_url)
    store = open_store(pg_store_url, upgrade=False)
    try:
        for i in range(ROUNDS):
            raw, result = message(
                delivery(f"slow{i}@example.com", Category.DEFERRAL, original_message_id=f"<o{i}@s>")
            )
            store.record(raw, result, now=T0)
    finally:
        store.close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [ctx.Process(target=_expirer, args=(pg_store_url, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    expired = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(isinstance(n, int) for n in expired), expired
    assert sum(expired) == ROUNDS
    store = open_store(pg_store_url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            soft = conn.execute(
                select(func.count()).select_from(EventRow).where(EventRow.origin == "expiry")
            ).scalar_one()
    finally:
        store.close()
    assert soft == ROUNDS


def _opener(url: str, barrier: Barrier, out: multiprocessing.Queue) -> None:
    try:
        barrier.wait(timeout=60)
        open_store(url).close()  # creates the schema if nobody has yet
    except Exception as exc:  # reported to the test instead of a silent dead child
        out.put(repr(exc))
        return
    out.put("ok")


def test_two_processes_create_the_schema_at_once(fresh_pg_database: str) -> None:
    """Scenario: two service instances start together on an empty PostgreSQL database."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [ctx.Process(target=_opener, args=(fresh_pg_database, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert results == ["ok", "ok"]
    store = open_store(fresh_pg_database, upgrade=False)  # SchemaOutdated if it were not at head
    store.close()
