"""Store: the database handle every part of returnpath records through, and open_store()."""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

from returnpath.config import Settings
from returnpath.model import Category, ParseResult, RawMessage
from returnpath.storage import migrate, queries, reports
from returnpath.storage.errors import DatabaseUnavailable, SchemaOutdated
from returnpath.storage.recorder import (
    Recorder,
    RecordFailure,
    RecordOutcome,
    advance_checkpoint,
    checkpoints,
    find_message,
    find_messages,
    message_key,
    messages,
    normalise_address,
    pending_deferral_ids,
)

log = logging.getLogger(__name__)


class _MessageFailed(Exception):
    """A message failed in a batch written without savepoints: write it again with them."""

SUPPORTED_BACKENDS = ("sqlite", "postgresql")

#: PostgreSQL SQLSTATEs after which a whole batch transaction is simply run again: a deadlock
#: with a concurrent writer (each waiting on the other's rows) or a serialization failure.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_BATCH_ATTEMPTS = 3


class Store:
    """The recorded verdicts, contacts, deferrals and checkpoints of one database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    # -- recording --------------------------------------------------------------------------

    def record(
        self, raw: RawMessage, result: ParseResult, *, now: datetime | None = None
    ) -> RecordOutcome:
        """Record one returned message and its effects in ONE transaction.

        Idempotent: a message already recorded under the same (source, folder, uidvalidity,
        uid) or with the same bytes (sha256) changes nothing and gives created=False. For the
        second case the checkpoint of this mailbox still moves past the uid, so a copy of a
        message in another folder is not fetched again.
        """
        now = _utc(now)
        source, folder, uidvalidity, uid, sha = message_key(raw)
        try:
            with self.engine.begin() as conn:
                existing = find_message(conn, raw, sha)
                if existing is None:
                    outcome = Recorder(conn, self.settings, now).record(raw, result, sha)
                    if outcome is not None:
                        return outcome
                    # Another writer committed this message while ours waited on its unique
                    # key (PostgreSQL); that row is visible to this next statement.
                    existing = find_message(conn, raw, sha)
                if existing is not None:
                    advance_checkpoint(conn, raw, now)
                    return RecordOutcome(existing, False, 0, ())
        except IntegrityError:
            # A unique key that ON CONFLICT could not cover; the rollback left nothing behind.
            log.debug("recording %s/%s/%s/%s conflicted", source, folder, uidvalidity, uid)
        with self.engine.begin() as conn:
            existing = find_message(conn, raw, sha)
            if existing is None:
                raise RuntimeError(  # the conflict was not about this message: a real bug
                    f"recording {source}/{folder}/{uidvalidity}/{uid} conflicted, "
                    "but no such message exists"
                )
            advance_checkpoint(conn, raw, now)
        return RecordOutcome(existing, False, 0, ())

    def record_many(
        self, items: Sequence[tuple[RawMessage, ParseResult]], *, now: datetime | None = None
    ) -> list[RecordOutcome | RecordFailure]:
        """Record a batch of messages in ONE transaction; one bad message never costs the rest.

        Gives one entry per item, in order: a RecordOutcome (created=False for a message
        already recorded, exactly as record() would), or a RecordFailure for a message whose
        own error (a bug, a value the database refuses) was rolled back alone; the rest of the
        batch is kept. Errors that mean the database cannot be written (OperationalError,
        InterfaceError) roll back the whole batch and propagate: nothing of it is committed,
        so nothing of it may be moved. The mailbox checkpoints advance once per batch.

        The batch is first written without savepoints (they cost a fifth of the time); when a
        message fails, that attempt is rolled back and the batch is written again with a
        SAVEPOINT around each message.
        """
        now = _utc(now)
        keys = [message_key(raw) for raw, _ in items]
        isolate = False
        attempt = 0
        while True:
            try:
                with self.engine.begin() as conn:
                    return self._record_batch(conn, items, keys, now, isolate=isolate)
            except _MessageFailed:
                isolate = True
            except OperationalError as exc:
                attempt += 1
                code = getattr(exc.orig, "sqlstate", None)
                if code not in _RETRY_SQLSTATES or attempt >= _BATCH_ATTEMPTS:
                    raise
                log.debug("batch of %d rolled back (%s), attempt %d", len(items), code, attempt)

    def _record_batch(
        self,
        conn: Any,
        items: Sequence[tuple[RawMessage, ParseResult]],
        keys: list[tuple[str, str, int, int | None, str]],
        now: datetime,
        *,
        isolate: bool,
    ) -> list[RecordOutcome | RecordFailure]:
        known = find_messages(conn, keys)
        recorder = Recorder(conn, self.settings, now)
        recorder.prefetch_contacts(
            address
            for index, (_, result) in enumerate(items)
            if index not in known
            for address in map(normalise_address, (d.recipient for d in result.deliveries))
            if address is not None
        )
        outcomes: list[RecordOutcome | RecordFailure]
        if isolate:
            outcomes = self._record_isolated(conn, recorder, items, keys, known)
        else:
            # The whole batch in a few statements; a conflict or a bad value in any message
            # sends the batch to the savepoint-per-message path.
            new = [index for index in range(len(items)) if index not in known]
            try:
                ids = recorder.insert_messages(
                    [(items[i][0], items[i][1], keys[i][4]) for i in new]
                )
                written = recorder.record_batch(
                    [(items[i][0], items[i][1], keys[i][4], message_id)
                     for i, message_id in zip(new, ids, strict=True)]
                )
            except (OperationalError, InterfaceError):
                raise  # the database itself: the whole batch goes
            except Exception as exc:
                raise _MessageFailed from exc
            done = dict(zip(new, written, strict=True))
            outcomes = [
                done[index] if index in done else RecordOutcome(known[index], False, 0, ())
                for index in range(len(items))
            ]
        # What advancing per message in order would leave: per (source, folder), the highest
        # uid seen since its UIDVALIDITY last changed.
        last: dict[tuple[str, str], RawMessage] = {}
        for (raw, _), outcome in zip(items, outcomes, strict=True):
            if raw.uid is None or isinstance(outcome, RecordFailure):
                continue
            mark = last.get((raw.source, raw.folder))
            if mark is None or mark.uidvalidity != raw.uidvalidity or (mark.uid or 0) < raw.uid:
                last[(raw.source, raw.folder)] = raw
        for raw in last.values():
            advance_checkpoint(conn, raw, now)
        return outcomes

    @staticmethod
    def _record_isolated(
        conn: Any,
        recorder: Recorder,
        items: Sequence[tuple[RawMessage, ParseResult]],
        keys: list[tuple[str, str, int, int | None, str]],
        known: dict[int, int],
    ) -> list[RecordOutcome | RecordFailure]:
        """Message by message, each inside a SAVEPOINT: a failing one is rolled back alone."""
        outcomes: list[RecordOutcome | RecordFailure] = []
        for index, (raw, result) in enumerate(items):
            if index in known:
                outcomes.append(RecordOutcome(known[index], False, 0, ()))
                continue
            sha = keys[index][4]
            conn.exec_driver_sql("SAVEPOINT rp_message")
            try:
                outcome = recorder.record(raw, result, sha, checkpoint=False)
            except (OperationalError, InterfaceError):
                raise  # the database itself: the whole batch goes
            except Exception as exc:
                conn.exec_driver_sql("ROLLBACK TO SAVEPOINT rp_message")
                conn.exec_driver_sql("RELEASE SAVEPOINT rp_message")
                # Contacts this message created are gone again: look addresses up afresh.
                recorder.known_contacts = {}
                existing = find_message(conn, raw, sha) if isinstance(exc, IntegrityError) else None
                if existing is None:
                    outcomes.append(RecordFailure(exc))
                else:
                    outcomes.append(RecordOutcome(existing, False, 0, ()))
                continue
            conn.exec_driver_sql("RELEASE SAVEPOINT rp_message")
            if outcome is None:
                # An earlier copy in this batch, or another writer's commit (PostgreSQL).
                existing = find_message(conn, raw, sha)
                if existing is None:
                    outcomes.append(RecordFailure(RuntimeError(
                        f"recording {'/'.join(map(str, keys[index][:4]))} conflicted, "
                        "but no such message exists"
                    )))
                    continue
                outcome = RecordOutcome(existing, False, 0, ())
            outcomes.append(outcome)
        return outcomes

    def checkpoint(self, source: str, folder: str) -> tuple[int | None, int] | None:
        """(uidvalidity, last uid) recorded for a mailbox folder; None if never read."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(checkpoints.c.uidvalidity, checkpoints.c.last_uid).where(
                    checkpoints.c.source == source, checkpoints.c.folder == folder
                )
            ).first()
        if row is None:
            return None
        return (int(row.uidvalidity) or None, int(row.last_uid))

    def is_recorded(self, source: str, folder: str, uidvalidity: int | None, uid: int) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(messages.c.id).where(
                    messages.c.source == source,
                    messages.c.folder == folder,
                    messages.c.uidvalidity == (uidvalidity or 0),
                    messages.c.uid == uid,
                )
            ).first()
        return found is not None

    def is_recorded_bytes(self, data: bytes) -> bool:
        """Whether a message with exactly these bytes is recorded (any source)."""
        sha = hashlib.sha256(data).hexdigest()
        with self.engine.connect() as conn:
            found = conn.execute(select(messages.c.id).where(messages.c.sha256 == sha)).first()
        return found is not None

    def raw_bytes(self, message_id: int) -> bytes | None:
        """The returned message's original bytes as recorded (None when store_raw was off)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(messages.c.raw, messages.c.raw_encoding).where(messages.c.id == message_id)
            ).first()
        if row is None or row.raw is None:
            return None
        return zlib.decompress(row.raw) if row.raw_encoding == "zlib" else bytes(row.raw)

    def expire_deferrals(self, now: datetime | None = None) -> int:
        """Turn every pending deferral whose first notice is older than the window into one
        soft bounce (reason `expired`). Safe to run often and concurrently: each deferral
        expires exactly once. Returns how many expired in this call."""
        now = _utc(now)
        window = timedelta(hours=self.settings.deferral_window_hours)
        with self.engine.connect() as conn:
            candidates = pending_deferral_ids(conn, now - window)
        expired = 0
        for deferral_id in candidates:
            # One short transaction per deferral: a long backlog never holds locks for long.
            try:
                with self.engine.begin() as conn:
                    expired += Recorder(conn, self.settings, now).expire(deferral_id, window)
            except IntegrityError:  # another expirer wrote its event first
                continue
        return expired

    # -- reading and operator actions --------------------------------------------------------

    def feed(
        self,
        *,
        contact: str | None = None,
        category: Category | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 50,
    ) -> list[queries.FeedEntry]:
        """Events, newest first, optionally for one contact, one category, a time range."""
        with self.engine.connect() as conn:
            return queries.feed(
                conn, contact=contact, category=category, since=since, until=until, limit=limit
            )

    def contact(self, address: str, *, events_limit: int = 10) -> queries.ContactView:
        """Status, counters, history and latest events of one address (ContactNotFound)."""
        with self.engine.connect() as conn:
            return queries.contact_view(conn, address, events_limit=events_limit)

    def suppressions(self) -> list[queries.Suppression]:
        """Every unsubscribed address with its reason and time, oldest first."""
        with self.engine.connect() as conn:
            return queries.suppressions(conn)

    def reenable(
        self,
        address: str,
        *,
        corrected_address: str | None = None,
        actor: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> queries.ReenableOutcome:
        """Re-enable an unsubscribed contact, or move it to a corrected address (one
        transaction). Raises ContactNotFound, NotUnsubscribed, InvalidAddress."""
        with self.engine.begin() as conn:
            return queries.reenable(
                conn,
                address,
                corrected_address=corrected_address,
                actor=actor,
                note=note,
                now=_utc(now),
            )

    def report(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        by: reports.GroupBy | str | None = None,
    ) -> reports.Report:
        with self.engine.connect() as conn:
            return reports.build_report(conn, since=since, until=until, by=by)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str, *, settings: Settings | None = None, upgrade: bool = True) -> Store:
    """Connect to `url`, create or upgrade the schema (unless upgrade=False), return a Store.

    Raises DatabaseUnavailable (one clear line) for a malformed URL, a missing driver, an
    unsupported backend or an unreachable database; SchemaOutdated when upgrade=False and the
    schema is not current.
    """
    settings = settings or Settings(database_url=url)
    engine = create_store_engine(url)
    shown = display_url(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if upgrade:
            migrate.upgrade(engine)
        elif migrate.known_head(engine) is None:
            current, head = migrate.current_revision(engine), migrate.head_revision()
            if current != head:
                raise SchemaOutdated(current, head)
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseUnavailable(shown, _first_line(exc)) from None
    except SchemaOutdated:
        engine.dispose()
        raise
    return Store(engine, settings)


def database_revision(url: str) -> str | None:
    """The schema revision of the database at `url` (None: empty); DatabaseUnavailable."""
    engine = create_store_engine(url)
    try:
        return migrate.current_revision(engine)
    except DBAPIError as exc:
        raise DatabaseUnavailable(display_url(url), _first_line(exc)) from None
    finally:
        engine.dispose()


def create_store_engine(url: str) -> Engine:
    """An Engine configured for returnpath; DatabaseUnavailable for a URL it cannot use."""
    shown = display_url(url)
    try:
        parsed = make_url(_normalise_url(url))
    except ArgumentError:
        raise DatabaseUnavailable(
            shown,
            "not a database URL (examples: sqlite:///returnpath.db, "
            "postgresql+psycopg://user@host/dbname)",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseUnavailable(
            shown, f"unsupported database {backend!r} (returnpath supports sqlite and postgresql)"
        )
    # No pre-ping: it costs a round trip per transaction, and a connection lost to a server
    # restart fails its transaction with OperationalError, which invalidates the pool.
    options: dict[str, Any] = {}
    if backend == "postgresql":
        options["connect_args"] = {"connect_timeout": 10}
    else:
        options["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(parsed, **options)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnavailable(shown, f"no usable driver: {exc}") from None
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, and BEGIN IMMEDIATE so concurrent writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            # synchronous stays FULL: a commit must survive a power loss, because the
            # poller moves the message out of the mailbox right after it.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _normalise_url(url: str) -> str | URL:
    """Bare postgresql:// URLs use psycopg 3, the driver returnpath ships with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def display_url(url: str) -> str:
    """The URL as it may be shown: password masked, driver made explicit."""
    try:
        return make_url(_normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _first_line(exc: DBAPIError) -> str:
    message = str(exc.orig) if exc.orig is not None else str(exc)
    return next((line.strip() for line in message.splitlines() if line.strip()), "error")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
