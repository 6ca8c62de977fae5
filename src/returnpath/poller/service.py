"""The scheduled service behind `returnpath run` (DESIGN.md §5).

- One poll job per mailbox at its poll_interval_seconds (APScheduler, at most one instance,
  coalesced), run once at start.
- Where the server offers IMAP IDLE, a watcher thread per mailbox keeps its own connection in
  IDLE; new mail (EXISTS) starts that mailbox's poll at once. IDLE is renewed every
  IDLE_RENEW_SECONDS, well inside the 29 minutes after which RFC 2177 lets a server drop an
  idle client; a lost connection is re-made with exponential backoff and jitter.
- The deferral-expiry job every settings.expiry_interval_minutes.
- Stop (SIGTERM/SIGINT): the running poll finishes its current message, commits, makes its
  pending moves, and the process exits 0.
- On PostgreSQL each poll holds an advisory lock keyed on the mailbox name, on a connection
  of its own, so two service instances never poll one mailbox at the same time. On SQLite
  (one instance by design) there is no lock.

Jobs live in APScheduler's in-memory job store: they are rebuilt from the config at each start.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from returnpath.config import MailboxConfig, Settings
from returnpath.poller.logs import get_logger, log_event
from returnpath.poller.mailbox import Mailbox, MailboxConfigError, PollerError
from returnpath.poller.runner import parse_options_for, run_mailbox

#: How long one IDLE command lasts before it is renewed (RFC 2177: re-issue within 29 min).
IDLE_RENEW_SECONDS = 10 * 60.0
#: How often a watcher in IDLE looks up to see whether the service is stopping.
IDLE_CHECK_SECONDS = 1.0
#: Reconnect backoff of the IDLE watchers: first delay and ceiling, in seconds.
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 5 * 60.0
#: Test hook: seconds to sleep before each record, so a test can stop the service mid-poll.
RECORD_DELAY_ENV = "RETURNPATH_TEST_RECORD_DELAY"

EXPIRY_JOB_ID = "expire-deferrals"

log = get_logger("service")


def poll_job_id(mailbox: str) -> str:
    return f"poll:{mailbox}"


def advisory_lock_key(mailbox: str) -> int:
    """The PostgreSQL advisory lock key of a mailbox: a signed 64-bit hash of its name.

    Derived from the name alone, so every instance sharing the database agrees on it.
    """
    digest = hashlib.sha256(f"returnpath.mailbox:{mailbox}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- what the service needs from the store -----------------------------------------------


class ServiceStore(Protocol):
    """The part of returnpath.storage.Store the service uses."""

    def record(self, raw: Any, result: Any) -> Any: ...

    def expire_deferrals(self, now: datetime) -> int: ...


class MailboxLocks(Protocol):
    """Keeps two service instances from polling one mailbox at the same time."""

    def hold(self, mailbox: str) -> contextlib.AbstractContextManager[bool]:
        """A context whose value is True when the lock is held, False when another holds it."""
        ...


class NoLocks:
    """SQLite: a single service instance by design, so there is nothing to coordinate."""

    @contextlib.contextmanager
    def hold(self, mailbox: str) -> Iterator[bool]:
        yield True


class PgAdvisoryLocks:
    """pg_try_advisory_lock per mailbox, held on a dedicated connection for one poll.

    A session-level lock dies with its connection, so an instance that crashes mid-poll
    releases its mailbox as soon as PostgreSQL notices the connection is gone.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    @contextlib.contextmanager
    def hold(self, mailbox: str) -> Iterator[bool]:
        from sqlalchemy import text

        key = advisory_lock_key(mailbox)
        conn = self._engine.connect()
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            )
            conn.commit()  # a session-level advisory lock outlives the transaction
            if not got:
                yield False
                return
            try:
                yield True
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
                except Exception:
                    # Never hand a connection that may still hold the lock back to the pool.
                    conn.invalidate()
        finally:
            conn.close()


def locks_for(store: Any) -> MailboxLocks:
    engine = getattr(store, "engine", None)
    if engine is not None and engine.dialect.name == "postgresql":
        return PgAdvisoryLocks(engine)
    return NoLocks()


class _SlowStore:
    """Test hook (RECORD_DELAY_ENV): waits before each record."""

    def __init__(self, store: Any, delay: float) -> None:
        self._store = store
        self._delay = delay

    def record(self, raw: Any, result: Any) -> Any:
        time.sleep(self._delay)
        return self._store.record(raw, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


# -- IDLE watchers ------------------------------------------------------------------------


def connect_imap(cfg: MailboxConfig) -> IMAPClient:
    """A logged-in client for cfg, made where the poller makes its own (ImapMailbox.connect)."""
    from returnpath.poller.imap import ImapMailbox

    return ImapMailbox(cfg).connect()


def _close_quietly(client: IMAPClient | None) -> None:
    if client is None:
        return
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


class IdleWatcher(threading.Thread):
    """Keeps one mailbox folder in IDLE and calls on_new_mail(name) when mail arrives."""

    def __init__(
        self,
        cfg: MailboxConfig,
        on_new_mail: Callable[[str], None],
        stop: threading.Event,
        *,
        connect: Callable[[MailboxConfig], IMAPClient] = connect_imap,
        renew_seconds: float = IDLE_RENEW_SECONDS,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(name=f"idle:{cfg.name}", daemon=True)
        self.cfg = cfg
        self._on_new_mail = on_new_mail
        self._stopping = stop  # not _stop: threading.Thread has a _stop method
        self._connect = connect
        self._renew_seconds = renew_seconds
        self._log = logger or log
        #: False once the server turned out not to offer IDLE (the poll interval then rules).
        self.supported = True

    def run(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        attempt = 0
        while not self._stopping.is_set():
            client: IMAPClient | None = None
            try:
                client = self._connect(self.cfg)
                if not client.has_capability("IDLE"):
                    self.supported = False
                    log_event(self._log, "idle_unavailable", mailbox=self.cfg.name)
                    return
                client.select_folder(self.cfg.folder, readonly=True)
                log_event(self._log, "idle_start", mailbox=self.cfg.name, folder=self.cfg.folder)
                if attempt:
                    # Mail may have arrived while the connection was down.
                    self._on_new_mail(self.cfg.name)
                attempt, delay = 0, RECONNECT_FIRST_SECONDS
                self._idle(client)
            except MailboxConfigError as exc:
                log_event(self._log, "idle_failed", logging.ERROR, mailbox=self.cfg.name,
                          error=str(exc))
                return
            except (OSError, IMAPClientError) as exc:
                if self._stopping.is_set():
                    break
                attempt += 1
                wait = delay * random.uniform(0.5, 1.5)
                log_event(self._log, "idle_reconnect", logging.WARNING, mailbox=self.cfg.name,
                          attempt=attempt, retry_in=round(wait, 2), error=repr(exc))
                self._stopping.wait(wait)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            finally:
                _close_quietly(client)

    def _idle(self, client: IMAPClient) -> None:
        while not self._stopping.is_set():
            client.idle()
            renew_at = time.monotonic() + self._renew_seconds
            new_mail = False
            while not self._stopping.is_set() and time.monotonic() < renew_at:
                asked = time.monotonic()
                responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                if any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                    new_mail = True
                    break
                if any(r and r[0] == b"BYE" for r in responses):
                    break  # the server is closing: idle_done() below raises, we reconnect
                if not responses and time.monotonic() - asked < IDLE_CHECK_SECONDS / 2:
                    # imapclient's idle_check swallows EOF and returns at once, so a dead
                    # connection looks like a quiet one. Leaving IDLE tells them apart:
                    # idle_done() raises on a closed connection.
                    break
            client.idle_done()
            if new_mail:
                log_event(self._log, "idle_wake", mailbox=self.cfg.name)
                self._on_new_mail(self.cfg.name)


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame of exc's traceback, for a one-line log."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else ""


# -- the service ----------------------------------------------------------------------------


@dataclass
class _PollState:
    """Whether a mailbox's poll is running, and whether mail arrived while it ran."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    running: bool = False
    pending: bool = False


def _default_mailbox_factory(
    cfg: MailboxConfig, store: Any, stop: threading.Event
) -> Mailbox:
    from returnpath.poller.imap import ImapMailbox

    def sleep(seconds: float) -> None:
        # A stop cuts a reconnect backoff short instead of outwaiting it.
        stop.wait(seconds)

    return ImapMailbox(cfg, store, sleep=sleep)


class Service:
    """The long-running poller: scheduler, IDLE watchers, expiry job and graceful stop."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        *,
        mailbox_factory: Callable[
            [MailboxConfig, Any, threading.Event], Mailbox
        ] = _default_mailbox_factory,
        connect: Callable[[MailboxConfig], IMAPClient] = connect_imap,
        locks: MailboxLocks | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self._raw_store = store
        self._locks = locks or locks_for(store)
        delay = float(os.environ.get(RECORD_DELAY_ENV) or 0)
        if delay > 0:
            store = _SlowStore(store, delay)
        self.store: ServiceStore = store
        self._mailbox_factory = mailbox_factory
        self._connect = connect
        self._log = logger or log
        self._options = parse_options_for(settings)
        self._mailboxes = {m.name: m for m in settings.mailboxes}
        self._states = {name: _PollState() for name in self._mailboxes}
        self.stop_event = threading.Event()
        self._watchers: list[IdleWatcher] = []
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=len(self._mailboxes) + 2)},
            # No misfire limit: a poll delayed by a busy pool still runs, once.
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )

    # lifecycle

    def start(self) -> None:
        """Schedule the jobs (each poll runs at once) and start the IDLE watchers."""
        now = datetime.now(UTC)
        for cfg in self._mailboxes.values():
            self._scheduler.add_job(
                self.poll, "interval", args=[cfg.name], id=poll_job_id(cfg.name),
                seconds=max(cfg.poll_interval_seconds, 1), next_run_time=now,
            )
        self._scheduler.add_job(
            self.expire_deferrals, "interval", id=EXPIRY_JOB_ID,
            seconds=max(self.settings.expiry_interval_minutes * 60, 1),
            next_run_time=now + timedelta(seconds=1),
        )
        self._scheduler.start()
        for cfg in self._mailboxes.values():
            if cfg.idle:
                watcher = IdleWatcher(cfg, self.trigger_poll, self.stop_event,
                                      connect=self._connect, logger=self._log)
                watcher.start()
                self._watchers.append(watcher)
        log_event(self._log, "service_start", mailboxes=",".join(self._mailboxes),
                  locks=type(self._locks).__name__, pid=os.getpid())

    def request_stop(self) -> None:
        """Ask everything to stop: the running poll ends after its current message."""
        self.stop_event.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop: wait for running jobs (each finishes its current message), then the watchers."""
        self.stop_event.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        deadline = time.monotonic() + timeout
        for watcher in self._watchers:
            watcher.join(max(0.0, deadline - time.monotonic()))
        log_event(self._log, "service_stop", pid=os.getpid())

    def run_forever(self) -> int:
        """Run until SIGTERM or SIGINT, then stop gracefully; returns the exit code (0)."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log_event(self._log, "signal", signal=signal.Signals(signum).name)
            self.stop_event.set()

        previous = {
            sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            self.stop_event.wait()
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    # jobs

    def trigger_poll(self, mailbox: str) -> None:
        """Poll mailbox now; if its poll is running, run it again as soon as it ends."""
        state = self._states[mailbox]
        with state.lock:
            state.pending = True
            if state.running:
                return
        with contextlib.suppress(Exception):  # the scheduler is shutting down
            self._scheduler.modify_job(poll_job_id(mailbox), next_run_time=datetime.now(UTC))

    def poll(self, mailbox: str) -> None:
        """The poll job: one pass, repeated while new mail was announced during the pass."""
        state = self._states[mailbox]
        with state.lock:
            state.running = True
        try:
            while not self.stop_event.is_set():
                with state.lock:
                    state.pending = False
                self._poll_once(self._mailboxes[mailbox])
                with state.lock:
                    if not state.pending:
                        break
        finally:
            with state.lock:
                state.running = False

    def _poll_once(self, cfg: MailboxConfig) -> None:
        try:
            with self._locks.hold(cfg.name) as held:
                if not held:
                    log_event(self._log, "poll_skipped", mailbox=cfg.name,
                              reason="another instance is polling it")
                    return
                try:
                    mailbox = self._mailbox_factory(cfg, self._raw_store, self.stop_event)
                except PollerError as exc:  # settings that cannot work (no password, ...)
                    log_event(self._log, "poll_failed", logging.ERROR, mailbox=cfg.name,
                              error=str(exc))
                    return
                try:
                    run_mailbox(mailbox, self.store, self._options, stop=self.stop_event)
                except PollerError:
                    pass  # the runner logged it with the pass's counts; the next run retries
                finally:
                    mailbox.close()
        except Exception as exc:
            # A bug or a database error outside the runner (the advisory lock) must not end
            # the job for good: log it, the next run tries again.
            log_event(self._log, "poll_failed", logging.ERROR, mailbox=cfg.name,
                      error=repr(exc), where=_where(exc))

    def expire_deferrals(self) -> int:
        """The expiry job: deferrals past their window become soft bounces."""
        try:
            expired = int(self.store.expire_deferrals(datetime.now(UTC)))
        except Exception as exc:
            log_event(self._log, "expiry_failed", logging.ERROR, error=repr(exc))
            return 0
        log_event(self._log, "expiry", expired=expired)
        return expired
