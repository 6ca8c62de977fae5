"""The one runner: every poll, IMAP backfill and file backfill goes through run_mailbox().

For each message: parse, record (one committed transaction), and only THEN mark it done, so
that a crash at any point leaves the message where it was, to be found again; the store's
unique keys make the second pass harmless (STYLE.md habit 8). A message that fails on its
own is recorded as unparsed with its error and quarantined; it never stops the poll. When
the database is unreachable the poll stops at once, moves nothing, and raises PollAborted:
the next run retries.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import InterfaceError, OperationalError

from returnpath.config import Settings
from returnpath.model import Category, MessageKind, ParseResult, RawMessage
from returnpath.parsers import ParseOptions, parse
from returnpath.poller.logs import get_logger, log_event
from returnpath.poller.mailbox import Disposition, Mailbox, PollerError
from returnpath.storage import DatabaseUnavailable

#: Test hook, read once per run: the process SIGKILLs itself right after the Nth commit, so a
#: test can reproduce "killed between commit and move", which no real server does on demand.
KILL_AFTER_COMMIT_ENV = "RETURNPATH_TEST_KILL_AFTER_COMMIT"

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


def _safe_parse(raw: RawMessage, options: ParseOptions) -> ParseResult:
    # parse() is documented never to raise; a bug in one format must still not stop the poll.
    try:
        return parse(raw.data, options)
    except Exception as exc:
        return ParseResult(kind=MessageKind.UNKNOWN, defects=(f"parse error: {exc!r}",))


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
) -> RunSummary:
    """One pass over `mailbox`: parse, record, commit, then mark done, message by message.

    `dry_run` parses and counts without recording or moving (store may be None). `limit`
    stops after that many messages. `stop` is checked between messages: the current message
    is finished and committed, the pending moves are made, and the summary is returned.
    Raises PollAborted when the database is unreachable (nothing more is moved).
    """
    if store is None and not dry_run:
        raise ValueError("a store is required unless dry_run is set")
    options = options or ParseOptions()
    summary = RunSummary(mailbox=mailbox.name, dry_run=dry_run)
    kill_after = int(os.environ.get(KILL_AFTER_COMMIT_ENV) or 0)
    commits = 0
    started = time.monotonic()
    logger = logger or log
    try:
        if stop is not None and stop.is_set():
            summary.stopped = True
            return summary
        for raw in mailbox.fetch_new():
            summary.seen += 1
            result = _safe_parse(raw, options)
            disposition = Disposition.PROCESSED if result.recognised else Disposition.UNPARSED
            if dry_run:
                summary.categories.update(_categories(result))
                summary.unparsed += disposition is Disposition.UNPARSED
            else:
                assert store is not None
                recorded = _record(store, raw, result, summary, logger)
                if recorded is None:
                    summary.errors += 1
                else:
                    outcome, disposition = recorded
                    commits += 1
                    if kill_after and commits == kill_after:
                        os.kill(os.getpid(), signal.SIGKILL)
                    if getattr(outcome, "created", True):
                        summary.recorded += 1
                        summary.categories.update(
                            _categories(result) if disposition is Disposition.PROCESSED
                            else [Category.UNKNOWN.value]
                        )
                        summary.unsubscribed += _count_unsubscribed(
                            getattr(outcome, "unsubscribed", 0)
                        )
                    else:
                        summary.duplicates += 1
                    summary.unparsed += disposition is Disposition.UNPARSED
                    mailbox.mark_done(raw, disposition)
            if progress is not None:
                progress(raw)
            if limit is not None and summary.seen >= limit:
                break
            if stop is not None and stop.is_set():
                summary.stopped = True
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
    fallback = ParseResult(
        kind=MessageKind.UNKNOWN,
        defects=(*result.defects, error),
        message_id=result.message_id,
        subject=result.subject,
        sender=result.sender,
        date=result.date,
    )
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
