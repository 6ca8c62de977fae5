"""The service's parts in-process: poll coalescing, expiry job, PostgreSQL mailbox lock, IDLE."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import create_engine, text

from returnpath.config import MailboxConfig, Settings
from returnpath.model import (
    Action,
    Category,
    Delivery,
    MessageKind,
    ParseResult,
    RawMessage,
    Reason,
    Verdict,
)
from returnpath.poller.mailbox import Disposition, MailboxConfigError, MailboxUnavailable
from returnpath.poller.service import (
    IdleWatcher,
    PgAdvisoryLocks,
    Service,
    advisory_lock_key,
    connect_imap,
)
from returnpath.storage import open_store
from support.imap_base import ImapTestServer
from support.logcapture import EventNames


def _wait(what: str, check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class _BlockingMailbox:
    """A mailbox with no mail whose first pass blocks until released."""

    def __init__(self, passes: list[str], entered: threading.Event,
                 release: threading.Event) -> None:
        self.name = "bounces"
        self._passes = passes
        self._entered = entered
        self._release = release

    def fetch_new(self) -> Iterator[RawMessage]:
        self._passes.append("pass")
        if len(self._passes) == 1:
            self._entered.set()
            self._release.wait(30)
        return iter(())

    def mark_done(self, message: RawMessage, disposition: Disposition) -> None:
        raise AssertionError("no message to mark")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _NullStore:
    expiries = 0

    def record(self, raw: RawMessage, result: ParseResult) -> Any:
        raise AssertionError("nothing to record")

    def expire_deferrals(self, now: datetime) -> int:
        self.expiries += 1
        return 0


def test_advisory_lock_key_is_stable_and_per_mailbox():
    """Scenario: every instance derives the same 64-bit key from a name; names differ."""
    key = advisory_lock_key("bounces")
    assert key == advisory_lock_key("bounces")
    assert key != advisory_lock_key("bounces-eu")
    assert -(2**63) <= key < 2**63


def test_new_mail_during_a_poll_runs_one_more_pass():
    """Scenario: IDLE announces mail twice while a poll runs: exactly one more pass follows."""
    passes: list[str] = []
    entered, release = threading.Event(), threading.Event()
    cfg = MailboxConfig(name="bounces", host="127.0.0.1", username="u",
                        poll_interval_seconds=3600, idle=False)
    service = Service(
        Settings(mailboxes=(cfg,), expiry_interval_minutes=60), _NullStore(),
        mailbox_factory=lambda c, s, stop: _BlockingMailbox(passes, entered, release),
    )
    service.start()
    try:
        assert entered.wait(30), "the start-up poll did not run"
        service.trigger_poll("bounces")
        service.trigger_poll("bounces")
        release.set()
        _wait("the second pass", lambda: len(passes) >= 2)
        # The rerun happens inside the same job; the interval job is not due for an hour.
        _wait("the poll to go idle", lambda: not service._states["bounces"].running)
    finally:
        service.shutdown()
    assert passes == ["pass", "pass"]


def _deferral_result(rcpt: str) -> ParseResult:
    delivery = Delivery(
        recipient=rcpt, action=Action.DELAYED, status="4.2.2", format="dsn",
        verdict=Verdict(Category.DEFERRAL, Reason.MAILBOX_FULL, "test-deferral"),
    )
    return ParseResult(kind=MessageKind.DSN, deliveries=(delivery,), format="dsn",
                       message_id="<delay-1@mx.example.net>")


def test_expiry_job_expires_an_old_deferral(tmp_path: Path):
    """Scenario: a deferral first seen 100 h ago is expired by the service's expiry job."""
    url = f"sqlite:///{tmp_path / 'rp.db'}"
    settings = Settings(database_url=url, expiry_interval_minutes=0.01,
                        deferral_window_hours=72)
    store = open_store(url, settings=settings)
    raw = RawMessage(source="bounces", folder="INBOX", uidvalidity=1, uid=1,
                     data=b"Subject: delayed\r\n\r\nstill trying\r\n")
    store.record(raw, _deferral_result("late@example.org"),
                 now=datetime.now(UTC) - timedelta(hours=100))
    engine = create_engine(url)

    def states() -> list[str]:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT state FROM deferrals"))]

    assert states() == ["pending"]
    service = Service(settings, store)
    service.start()
    try:
        _wait("the deferral to expire", lambda: states() == ["expired"])
    finally:
        service.shutdown()
        store.close()
        engine.dispose()


def test_expiry_job_repeats_at_its_interval():
    """Scenario: with a one-second expiry interval the job runs again and again."""
    store = _NullStore()
    service = Service(Settings(expiry_interval_minutes=1 / 60), store)
    service.start()
    try:
        _wait("three expiry runs", lambda: store.expiries >= 3)
    finally:
        service.shutdown()


@pytest.mark.postgres
def test_pg_advisory_lock_excludes_a_second_holder(fresh_pg_database: str):
    """Scenario: while one instance polls a mailbox, another cannot lock it; after, it can."""
    first = create_engine(fresh_pg_database)
    second = create_engine(fresh_pg_database)
    try:
        a, b = PgAdvisoryLocks(first), PgAdvisoryLocks(second)
        with a.hold("bounces") as held:
            assert held
            with b.hold("bounces") as other:
                assert not other
            with b.hold("bounces-eu") as unrelated:
                assert unrelated
        with b.hold("bounces") as after:
            assert after
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.postgres
def test_pg_advisory_lock_released_when_holder_connection_dies(fresh_pg_database: str):
    """Scenario: a crashed holder (connection closed without unlock) frees the mailbox."""
    engine = create_engine(fresh_pg_database)
    other = create_engine(fresh_pg_database)
    try:
        conn = engine.connect()
        key = advisory_lock_key("bounces")
        assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        with PgAdvisoryLocks(other).hold("bounces") as held:
            assert not held
        conn.invalidate()  # the socket goes away, as when the process is killed
        conn.close()
        locks = PgAdvisoryLocks(other)

        def free() -> bool:
            # The server ends the dead session asynchronously: allow it a moment.
            with locks.hold("bounces") as held:
                return held

        _wait("the lock to be released", free, timeout=20)
    finally:
        engine.dispose()
        other.dispose()


def test_idle_watcher_renews_idle_and_still_wakes(clean_imap_server: ImapTestServer):
    """Scenario: IDLE renewed several times over (short renew period) still reports new mail."""
    server = clean_imap_server
    cfg = MailboxConfig(**server.mailbox_settings(tls="none", name="bounces"))
    idles: list[int] = []
    woken = threading.Event()

    def connect(c: MailboxConfig) -> IMAPClient:
        client = connect_imap(c)
        if not client.has_capability("IDLE"):
            pytest.skip(f"{server.kind} does not offer IDLE")
        plain_idle = client.idle

        def counting_idle() -> Any:
            idles.append(1)
            return plain_idle()

        client.idle = counting_idle  # type: ignore[method-assign]
        return client

    stop = threading.Event()
    watcher = IdleWatcher(cfg, lambda name: woken.set(), stop, connect=connect,
                          renew_seconds=0.3)
    watcher.start()
    try:
        _wait("three IDLE commands", lambda: len(idles) >= 3)
        assert not woken.is_set()
        server.append("INBOX", b"Subject: new\r\nMessage-ID: <renew@x>\r\n\r\nhi\r\n")
        assert woken.wait(30), "new mail after IDLE renewals did not wake the watcher"
    finally:
        stop.set()
        watcher.join(30)
    assert not watcher.is_alive()


class _FailingMailbox(_BlockingMailbox):
    def fetch_new(self) -> Iterator[RawMessage]:
        self._passes.append("pass")
        raise MailboxUnavailable("bounces", "connection refused (test)")


def test_failing_polls_log_one_line_each_and_stay_scheduled():
    """Scenario: a mailbox unreadable, or not even set up, logs one poll_failed per pass."""
    records = EventNames()
    logger = logging.getLogger("returnpath")
    logger.addHandler(records)
    passes: list[str] = []
    cfg_bad = MailboxConfig(name="broken", host="127.0.0.1", username="u",
                            poll_interval_seconds=3600, idle=False)
    cfg_down = MailboxConfig(name="bounces", host="127.0.0.1", username="u",
                             poll_interval_seconds=3600, idle=False)

    def factory(c: MailboxConfig, store: Any, stop: threading.Event) -> Any:
        if c.name == "broken":
            raise MailboxConfigError("broken", "set password_env or password_file")
        return _FailingMailbox(passes, threading.Event(), threading.Event())

    service = Service(Settings(mailboxes=(cfg_bad, cfg_down), expiry_interval_minutes=60),
                      _NullStore(), mailbox_factory=factory)
    try:
        service.start()
        _wait("two failed passes", lambda: records.events.count("poll_failed") >= 2)
        service.trigger_poll("bounces")
        _wait("a third pass", lambda: len(passes) >= 2)
        _wait("its log line", lambda: records.events.count("poll_failed") >= 3)
    finally:
        service.shutdown()
        logger.removeHandler(records)
    assert records.events.count("poll_failed") == 3
