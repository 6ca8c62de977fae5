"""The one runner: every poll, IMAP backfill and file backfill goes through run_mailbox().

For each batch of messages: parse, record (one committed transaction, a savepoint per
message), and only THEN mark them done, so that a crash at any point leaves the messages
where they were, to be found again; the store's unique keys make the second pass harmless
(STYLE.md habit 8). A message that fails on its own is recorded as unparsed with its error
and quarantined; it never stops the poll. When the database is unreachable the poll stops at
once, moves nothing of the batch, and raises PollAborted: the next run retries.

Parsing is pure CPU work; on a pass with more than one batch, worker processes parse the
next batch while this one is recorded (a worker that fails only sends its batch back to be
parsed here).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError

from returnpath.config import Settings
from returnpath.model import Category, MessageKind, ParseResult, RawMessage
from returnpath.parsers import ParseOptions, parse
from returnpath.poller import parsework
from returnpath.poller.logs import get_logger, log_event
from returnpath.poller.mailbox import Disposition, Mailbox, PollerError
from returnpath.storage import DatabaseUnavailable

#: Test hook, read once per run: the process SIGKILLs itself right after the Nth commit (a
#: batch's transaction), so a test can reproduce "killed between commit and move", which no
#: real server does on demand.
KILL_AFTER_COMMIT_ENV = "RETURNPATH_TEST_KILL_AFTER_COMMIT"

#: How many worker processes parse ahead of recording (0: parse in this process).
PARSE_WORKERS_ENV = "RETURNPATH_PARSE_WORKERS"

#: Batches for a mailbox that does not say (files): messages, and bytes of mail held at once.
DEFAULT_BATCH_SIZE = 100
DEFAULT_BATCH_BYTES = 10 * 1024 * 1024

log = get_logger("runner")

#: Errors that mean the database cannot be written right now (down, unreachable, locked):
#: the poll stops, moves nothing more, and the next run retries. Any other error is the
#: message's own and only quarantines that message.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    OperationalError,
    InterfaceError,
)


class PollAborted(PollerError):
    """Raised when the database became unreachable during a poll; nothing more was moved."""

    def __init__(self, mailbox: str, detail: str) -> None:
        self.mailbox = mailbox
        super().__init__(
            f"mailbox {mailbox}: database unavailable ({detail}); the poll stopped without "
            "moving any unrecorded message and will be retried on the next run"
        )


class RecordingStore(Protocol):
    """The part of returnpath.storage.Store the runner uses."""

    def record(self, raw: RawMessage, result: ParseResult) -> Any: ...


@dataclass
class RunSummary:
    """What one pass over a mailbox did."""

    mailbox: str
    seen: int = 0  # messages taken from the mailbox
    recorded: int = 0  # new message rows
    duplicates: int = 0  # already recorded (a re-found or re-read message): nothing changed
    unparsed: int = 0  # recorded as unknown or broken and quarantined
    errors: int = 0  # could not be recorded at all; left in place for the next run
    unsubscribed: int = 0  # contacts unsubscribed by this pass
    categories: Counter[str] = field(default_factory=Counter)  # events per category
    dry_run: bool = False
    stopped: bool = False  # a stop was requested and honoured between two messages
    seconds: float = 0.0

    def fields(self) -> dict[str, Any]:
        """The summary as flat key/values for the structured log line."""
        out: dict[str, Any] = {
            "mailbox": self.mailbox,
            "seen": self.seen,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "unparsed": self.unparsed,
            "errors": self.errors,
            "unsubscribed": self.unsubscribed,
        }
        for category in Category:
            out[category.value] = self.categories.get(category.value, 0)
        out["dry_run"] = self.dry_run
        out["stopped"] = self.stopped
        out["seconds"] = round(self.seconds, 3)
        return out


def _count_unsubscribed(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Collection) and not isinstance(value, str | bytes):
        return len(value)
    return 0


def _safe_parse(data: bytes, options: ParseOptions) -> ParseResult:
    # parse() is documented never to raise; a bug in one format must still not stop the poll.
    try:
        return parse(data, options)
    except Exception as exc:
        return ParseResult(kind=MessageKind.UNKNOWN, defects=(f"parse error: {exc!r}",))


class _Parsers:
    """parse() for each batch: here, or in worker processes one batch ahead of recording."""

    def __init__(
        self,
        options: ParseOptions,
        workers: int,
        size: int,
        logger: logging.Logger,
        compress: bool = False,
    ) -> None:
        self.options = options
        #: Whether workers also compress each message's bytes for the store (store_raw).
        self.compress = compress
        self.workers = workers
        self.size = size
        self.logger = logger
        self._pool: ProcessPoolExecutor | None = None
        self._warm: Future[list[ParseResult]] | None = None

    def __enter__(self) -> _Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def parsed(
        self, batches: Iterator[list[RawMessage]]
    ) -> Iterator[tuple[list[RawMessage], list[ParseResult]]]:
        pending: deque[tuple[list[RawMessage], list[Future[list[ParseResult]]]]] = deque()
        for batch in batches:
            futures = self._submit(batch) if self._ready() else []
            pending.append((batch, futures))
            if self._pool is None and self.workers and len(batch) >= self.size:
                # A full batch: more mail is likely, and the workers start while this batch
                # is parsed and recorded here.
                self._start()
            while len(pending) > (1 if futures else 0):
                yield self._results(*pending.popleft())
        while pending:
            yield self._results(*pending.popleft())

    def _start(self) -> None:
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=parsework.worker_started,
            )
            # Start the workers now; batches are parsed here until they are up.
            self._warm = self._pool.submit(parsework.parse_all, [], self.options)
        except Exception as exc:  # no processes here (a sandbox): parse in this process
            self._give_up(exc)

    def _ready(self) -> bool:
        if self._pool is None or self._warm is None or not self._warm.done():
            return False
        error = self._warm.exception()
        if error is not None:
            self._give_up(error)
            return False
        return True

    def _submit(self, batch: list[RawMessage]) -> list[Future[list[ParseResult]]]:
        assert self._pool is not None
        step = -(-len(batch) // self.workers)
        try:
            return [
                self._pool.submit(parsework.parse_all, [raw.data for raw in batch[k : k + step]],
                                  self.options, self.compress)
                for k in range(0, len(batch), step)
            ]
        except Exception as exc:
            self._give_up(exc)
            return []

    def _results(
        self, batch: list[RawMessage], futures: list[Future[list[ParseResult]]]
    ) -> tuple[list[RawMessage], list[ParseResult]]:
        if futures:
            try:
                parsed = [r for future in futures for r in future.result()]
            except Exception as exc:  # a worker died or a result would not pickle
                self._give_up(exc)
            else:
                if self.compress:
                    batch = [replace(raw, compressed=compressed)
                             for raw, (_, compressed) in zip(batch, parsed, strict=True)]
                return batch, [result for result, _ in parsed]
        return batch, [_safe_parse(raw.data, self.options) for raw in batch]

    def _give_up(self, exc: BaseException) -> None:
        if not self.workers:
            return  # already given up (a later batch's future failing the same way)
        log_event(self.logger, "parse_workers_failed", logging.WARNING, error=repr(exc),
                  note="parsing in the poller's own process for the rest of the pass")
        self.workers = 0
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _categories(result: ParseResult) -> list[str]:
    if not result.deliveries:
        return [Category.UNKNOWN.value]
    return [
        d.verdict.category.value if d.verdict else Category.UNKNOWN.value
        for d in result.deliveries
    ]


def run_mailbox(
    mailbox: Mailbox,
    store: RecordingStore | None,
    options: ParseOptions | None = None,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    progress: Callable[[RawMessage], None] | None = None,
    stop: threading.Event | None = None,
    logger: logging.Logger | None = None,
    batch_size: int | None = None,
    parse_workers: int | None = None,
) -> RunSummary:
    """One pass over `mailbox`: parse, record, commit, then mark done, batch by batch.

    Messages are taken in batches (`batch_size`, default the mailbox's own, and at most
    about `batch_bytes` of mail). A store with record_many() records a batch in one
    transaction (a message that fails alone is set apart with a savepoint per message, and
    quarantined); any other store records message by message. Either way a message is
    marked done only after its transaction committed.
    `parse_workers` processes parse the next batch while this one is recorded (default:
    RETURNPATH_PARSE_WORKERS, else one when the machine has a second core; 0: parse here);
    they are started only for a pass with more than one full batch.

    `dry_run` parses and counts without recording or moving (store may be None). `limit`
    stops after that many messages. `stop` is checked between messages: the messages taken
    so far are finished and committed, the pending moves are made, and the summary is
    returned. Raises PollAborted when the database is unreachable (nothing more is moved).
    """
    if store is None and not dry_run:
        raise ValueError("a store is required unless dry_run is set")
    options = options or ParseOptions()
    summary = RunSummary(mailbox=mailbox.name, dry_run=dry_run)
    started = time.monotonic()
    logger = logger or log
    size = max(1, batch_size or int(getattr(mailbox, "batch_size", 0) or DEFAULT_BATCH_SIZE))
    max_bytes = int(getattr(mailbox, "batch_bytes", 0) or DEFAULT_BATCH_BYTES)
    pass_ = _Pass(mailbox, store, summary, logger, progress, stop, dry_run)
    try:
        if stop is not None and stop.is_set():
            summary.stopped = True
            return summary
        batches = _batches(mailbox.fetch_new(), size, max_bytes, limit, stop, summary)
        # The store's own settings (a wrapper forwards them): whether it keeps raw bytes.
        keeps_raw = bool(getattr(getattr(store, "settings", None), "store_raw", False))
        with _Parsers(options, _workers(parse_workers), size, logger,
                      compress=keeps_raw and not dry_run) as parsers:
            for batch, results in parsers.parsed(batches):
                if not pass_.handle(batch, results):
                    break
        if not dry_run:
            mailbox.flush()
    except DATABASE_DOWN as exc:
        summary.seconds = time.monotonic() - started
        detail = (str(getattr(exc, "orig", None) or exc).splitlines() or ["unknown error"])[0]
        log_event(logger, "poll_aborted", logging.ERROR, **summary.fields(), error=detail)
        raise PollAborted(mailbox.name, detail) from exc
    except PollerError as exc:
        # The mailbox failed (connection gone for good, bad settings): still one line with
        # what this pass did before it stopped.
        summary.seconds = time.monotonic() - started
        log_event(logger, "poll_failed", logging.ERROR, **summary.fields(), error=str(exc))
        raise
    summary.seconds = time.monotonic() - started
    log_event(logger, "poll", **summary.fields())
    return summary


def _workers(requested: int | None) -> int:
    if requested is None:
        env = os.environ.get(PARSE_WORKERS_ENV, "").strip()
        if env:
            try:
                requested = int(env)
            except ValueError:
                log_event(log, "bad_setting", logging.WARNING, variable=PARSE_WORKERS_ENV,
                          value=env, using=0)
                requested = 0
        else:
            requested = 1 if (os.cpu_count() or 1) > 1 else 0
    return max(0, requested)


def _batches(
    messages: Iterator[RawMessage],
    size: int,
    max_bytes: int,
    limit: int | None,
    stop: threading.Event | None,
    summary: RunSummary,
) -> Iterator[list[RawMessage]]:
    """The mailbox's messages in batches; a stop or the limit ends the last one early."""
    batch: list[RawMessage] = []
    held = 0
    if limit is not None and limit <= 0:
        return
    for taken, raw in enumerate(messages, 1):
        batch.append(raw)
        held += len(raw.data)
        last = limit is not None and taken >= limit
        if stop is not None and stop.is_set():
            summary.stopped = True
            last = True
        if last or len(batch) >= size or held >= max_bytes:
            yield batch
            batch, held = [], 0
        if last:
            return
    if batch:
        yield batch


class _Pass:
    """Records and marks the batches of one pass, and keeps its summary."""

    def __init__(
        self,
        mailbox: Mailbox,
        store: RecordingStore | None,
        summary: RunSummary,
        logger: logging.Logger,
        progress: Callable[[RawMessage], None] | None,
        stop: threading.Event | None,
        dry_run: bool,
    ) -> None:
        self.mailbox = mailbox
        self.store = store
        self.summary = summary
        self.logger = logger
        self.progress = progress
        self.stop = stop
        self.dry_run = dry_run
        # Only a store whose own class has record_many: a wrapper that overrides record()
        # alone (and forwards the rest) keeps its per-message behaviour.
        self.record_many: Callable[..., list[Any]] | None = (
            getattr(store, "record_many", None)
            if store is not None and hasattr(type(store), "record_many") else None
        )
        self.kill_after = int(os.environ.get(KILL_AFTER_COMMIT_ENV) or 0)
        self.commits = 0

    def handle(self, batch: list[RawMessage], results: list[ParseResult]) -> bool:
        """Record and mark one batch; False when the pass must end here (a stop)."""
        if self.dry_run:
            for raw, result in zip(batch, results, strict=True):
                self.summary.seen += 1
                self.summary.categories.update(_categories(result))
                self.summary.unparsed += not result.recognised
                self._progress(raw)
                if self._stopping():
                    return False
            return True
        if self.record_many is not None:
            self._record_batch(batch, results)
            return not self._stopping()
        for raw, result in zip(batch, results, strict=True):
            self.summary.seen += 1
            assert self.store is not None
            recorded = _record(self.store, raw, result, self.summary, self.logger)
            if recorded is None:
                self.summary.errors += 1
            else:
                self._committed()
                self._done(raw, result, *recorded)
            self._progress(raw)
            if self._stopping():
                return False
        return True

    def _record_batch(self, batch: list[RawMessage], results: list[ParseResult]) -> None:
        assert self.record_many is not None
        outcomes = self.record_many(list(zip(batch, results, strict=True)))
        self._committed()
        retry: list[tuple[RawMessage, ParseResult]] = []
        for raw, result, outcome in zip(batch, results, outcomes, strict=True):
            error = getattr(outcome, "error", None)
            if error is not None:
                log_event(self.logger, "message_error", logging.WARNING,
                          mailbox=self.summary.mailbox, uid=raw.uid, path=raw.path,
                          error=f"record failed: {error!r}")
                retry.append((raw, _fallback(result, f"record failed: {error!r}")))
                continue
            self.summary.seen += 1
            disposition = Disposition.PROCESSED if result.recognised else Disposition.UNPARSED
            self._done(raw, result, outcome, disposition)
            self._progress(raw)
        if not retry:
            return
        # Each failed message once more, as unparsed with its error, in one more transaction.
        outcomes = self.record_many(retry)
        self._committed()
        for (raw, result), outcome in zip(retry, outcomes, strict=True):
            self.summary.seen += 1
            error = getattr(outcome, "error", None)
            if error is not None:
                log_event(self.logger, "message_error", logging.ERROR,
                          mailbox=self.summary.mailbox, uid=raw.uid, path=raw.path,
                          error=f"unparsed record failed too: {error!r}")
                self.summary.errors += 1
            else:
                self._done(raw, result, outcome, Disposition.UNPARSED)
            self._progress(raw)

    def _committed(self) -> None:
        self.commits += 1
        if self.kill_after and self.commits == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def _done(
        self, raw: RawMessage, result: ParseResult, outcome: Any, disposition: Disposition
    ) -> None:
        summary = self.summary
        if getattr(outcome, "created", True):
            summary.recorded += 1
            summary.categories.update(
                _categories(result) if disposition is Disposition.PROCESSED
                else [Category.UNKNOWN.value]
            )
            summary.unsubscribed += _count_unsubscribed(getattr(outcome, "unsubscribed", 0))
        else:
            summary.duplicates += 1
        summary.unparsed += disposition is Disposition.UNPARSED
        self.mailbox.mark_done(raw, disposition)

    def _progress(self, raw: RawMessage) -> None:
        if self.progress is not None:
            self.progress(raw)

    def _stopping(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            self.summary.stopped = True
            return True
        return False


def _fallback(result: ParseResult, error: str) -> ParseResult:
    """What is recorded for a message whose own record failed: unparsed, with the error."""
    return ParseResult(
        kind=MessageKind.UNKNOWN,
        defects=(*result.defects, error),
        message_id=result.message_id,
        subject=result.subject,
        sender=result.sender,
        date=result.date,
    )


def _record(
    store: RecordingStore,
    raw: RawMessage,
    result: ParseResult,
    summary: RunSummary,
    logger: logging.Logger,
) -> tuple[Any, Disposition] | None:
    """Record one message; on its own failure, record it as unparsed with the error instead.

    Returns (outcome, disposition), or None when even the unparsed record failed (the
    message then stays where it is and is retried next run). DatabaseUnavailable propagates.
    """
    disposition = Disposition.PROCESSED if result.recognised else Disposition.UNPARSED
    try:
        return store.record(raw, result), disposition
    except DATABASE_DOWN:
        raise
    except Exception as exc:
        error = f"record failed: {exc!r}"
        log_event(logger, "message_error", logging.WARNING, mailbox=summary.mailbox,
                  uid=raw.uid, path=raw.path, error=error)
    fallback = _fallback(result, error)
    try:
        return store.record(raw, fallback), Disposition.UNPARSED
    except DATABASE_DOWN:
        raise
    except Exception as exc:
        log_event(logger, "message_error", logging.ERROR, mailbox=summary.mailbox,
                  uid=raw.uid, path=raw.path, error=f"unparsed record failed too: {exc!r}")
        return None


def parse_options_for(settings: Settings) -> ParseOptions:
    """The parse options the settings call for (VERP key, correlation headers)."""
    return ParseOptions(
        verp_secret=settings.verp_key(),
        correlation_headers=(settings.campaign_header, settings.contact_header),
    )
