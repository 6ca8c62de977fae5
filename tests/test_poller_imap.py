"""The IMAP mailbox and the runner against a real IMAP server on 127.0.0.1 and a SQLite store."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import text

from returnpath.config import MailboxConfig
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
from returnpath.poller import runner as runner_module
from returnpath.poller.imap import ImapMailbox, check_config
from returnpath.poller.logs import KeyValueFormatter
from returnpath.poller.mailbox import MailboxConfigError, MailboxUnavailable
from returnpath.poller.runner import run_mailbox
from returnpath.storage import Store, open_store
from support.imap_base import ImapTestServer

pytestmark = pytest.mark.imap


def dsn(n: int, pad: bytes = b"") -> bytes:
    """A standard delivery-status bounce for user{n}; `pad` grows the returned original."""
    rcpt = f"user{n}@example.org"
    return (
        "From: MAILER-DAEMON@mx.example.net\r\n"
        "To: bounces@example.com\r\n"
        f"Subject: Undelivered Mail Returned to Sender {n}\r\n"
        f"Message-ID: <dsn-{n}@mx.example.net>\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n'
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\n"
        f"Delivery to {rcpt} failed: user unknown.\r\n"
        "\r\n--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n--BB\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: news@example.com\r\nTo: {rcpt}\r\nMessage-ID: <orig-{n}@example.com>\r\n"
        "X-Campaign-ID: spring\r\nSubject: hello\r\n"
        'Content-Type: multipart/mixed; boundary="CC"\r\n\r\n'
        "--CC\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--CC\r\nContent-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + pad + b"\r\n--CC--\r\n\r\n--BB--\r\n"


def reply(n: int) -> bytes:
    """A human reply to the bounce address: nothing a classifier should recognise."""
    return (
        f"From: person{n}@example.org\r\nTo: bounces@example.com\r\nSubject: Re: hello\r\n"
        f"Message-ID: <reply-{n}@example.org>\r\n\r\nPlease call me back.\r\n"
    ).encode()


def stub_parse(raw: bytes, options: object = None) -> ParseResult:
    """Deterministic stand-in for parse(): a delivery-status part is one hard bounce."""
    if b"message/delivery-status" not in raw:
        return ParseResult(kind=MessageKind.UNKNOWN)
    rcpt = raw.split(b"Final-Recipient: rfc822; ", 1)[1].split(b"\r\n", 1)[0].decode()
    verdict = Verdict(Category.HARD, Reason.USER_UNKNOWN, "test")
    return ParseResult(
        kind=MessageKind.DSN,
        deliveries=(Delivery(rcpt, Action.FAILED, "5.1.1", verdict=verdict),),
    )


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "parse", stub_parse)


class Records(logging.Handler):
    """Every record of the returnpath loggers, formatted as the key=value log line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(KeyValueFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, name: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == name]

    @property
    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@contextlib.contextmanager
def captured(name: str) -> Iterator[Records]:
    """Every record of logger `name` at DEBUG and above (independent of propagation)."""
    logger = logging.getLogger(name)
    handler = Records()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture
def logs() -> Iterator[Records]:
    """The package's log records during the test."""
    with captured("returnpath") as handler:
        yield handler


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'rp.db'}", upgrade=True)
    try:
        yield store
    finally:
        store.close()


def config_for(server: ImapTestServer, tls: str = "none", **overrides: Any) -> MailboxConfig:
    values = server.mailbox_settings(tls, **overrides)
    values.setdefault("reconnect_delay_seconds", 0.05)
    values.setdefault("reconnect_max_delay_seconds", 0.5)
    return MailboxConfig(**values)


def message_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM messages")).scalar_one())


def poll(config: MailboxConfig, store: Store, **kwargs: Any) -> Any:
    with ImapMailbox(config, store) as box:
        return run_mailbox(box, store, **kwargs)


def test_poll_records_then_moves(clean_imap_server, sqlite_store, stubbed):
    """Scenario: three bounces and a human reply: recorded, then moved to Processed / Unparsed."""
    server = clean_imap_server
    for n in (1, 2, 3):
        server.append("INBOX", dsn(n))
    server.append("INBOX", reply(4))
    summary = poll(config_for(server, batch_size=2), sqlite_store)
    assert (summary.seen, summary.recorded, summary.unparsed) == (4, 4, 1)
    assert summary.categories["hard"] == 3
    assert server.uids("INBOX") == []
    assert len(server.uids("Processed")) == 3 and len(server.uids("Unparsed")) == 1
    assert message_count(sqlite_store) == 4
    again = poll(config_for(server), sqlite_store)
    assert again.seen == 0 and message_count(sqlite_store) == 4


def test_flags_only_leaves_mail_in_place(clean_imap_server, sqlite_store, stubbed, imap_client):
    """Scenario: flags-only mode marks each message with a keyword and moves nothing."""
    server = clean_imap_server
    if b"\\*" not in imap_client.select_folder("INBOX")[b"PERMANENTFLAGS"]:
        pytest.skip(f"{server.kind} does not keep IMAP keywords")
    server.append("INBOX", dsn(1))
    server.append("INBOX", reply(2))
    config = config_for(server, flags_only=True)
    summary = poll(config, sqlite_store)
    assert (summary.recorded, summary.unparsed) == (2, 1)
    uids = server.uids("INBOX")
    assert len(uids) == 2 and server.uids("Processed") == [] and server.uids("Unparsed") == []
    imap_client.select_folder("INBOX", readonly=True)
    flags = {frozenset(f) for f in imap_client.get_flags(uids).values()}
    assert frozenset({config.processed_keyword.encode()}) in flags
    assert frozenset({config.unparsed_keyword.encode()}) in flags
    assert not imap_client.folder_exists("Processed")
    again = poll(config, sqlite_store)
    assert again.seen == 0


def test_flags_only_refused_when_server_drops_keywords(clean_imap_server, sqlite_store):
    """Scenario: a server whose PERMANENTFLAGS lack keywords: flags-only mode refuses to run."""
    server = clean_imap_server
    server.append("INBOX", dsn(1))

    class NoKeywords(ImapMailbox):
        def connect(self) -> IMAPClient:
            client = super().connect()
            select = client.select_folder

            def select_without_keywords(folder: str, readonly: bool = False) -> Any:
                answer = dict(select(folder, readonly))
                answer[b"PERMANENTFLAGS"] = (b"\\Seen", b"\\Deleted")
                return answer

            client.select_folder = select_without_keywords  # type: ignore[method-assign]
            return client

    box = NoKeywords(config_for(server, flags_only=True), sqlite_store)
    with box, pytest.raises(MailboxConfigError, match="keywords"):
        run_mailbox(box, sqlite_store)
    assert message_count(sqlite_store) == 0 and len(server.uids("INBOX")) == 1


def test_uidvalidity_change_rescans_without_double_counting(
    clean_imap_server, sqlite_store, stubbed, logs
):
    """Scenario: the folder is deleted and recreated with the same mail plus one: one new row."""
    server = clean_imap_server
    for n in (1, 2):
        server.append("Bounces", dsn(n))
    config = config_for(server, folder="Bounces")
    first = poll(config, sqlite_store)
    assert first.recorded == 2
    old_validity = sqlite_store.checkpoint("test", "Bounces")
    with server.client() as c:
        c.delete_folder("Bounces")
    for n in (1, 2, 3):
        server.append("Bounces", dsn(n))
    assert server.uidvalidity("Bounces") != old_validity[0]
    second = poll(config, sqlite_store)
    assert (second.seen, second.recorded, second.duplicates) == (3, 1, 2)
    assert message_count(sqlite_store) == 3
    assert server.uids("Bounces") == [] and len(server.uids("Processed")) == 5
    assert logs.events("uidvalidity_changed")
    assert sqlite_store.checkpoint("test", "Bounces")[0] == server.uidvalidity("Bounces")


def test_implicit_tls_with_test_ca(clean_imap_server, sqlite_store, stubbed):
    """Scenario: implicit TLS verified against the test CA polls normally."""
    server = clean_imap_server
    if not server.tls_port:
        pytest.skip(f"{server.kind} has no implicit-TLS port")
    server.append("INBOX", dsn(1))
    summary = poll(config_for(server, "implicit"), sqlite_store)
    assert summary.recorded == 1 and server.uids("INBOX") == []


def test_starttls_with_test_ca(clean_imap_server, sqlite_store, stubbed):
    """Scenario: STARTTLS on the plain port, verified against the test CA, polls normally."""
    server = clean_imap_server
    server.append("INBOX", dsn(1))
    summary = poll(config_for(server, "starttls"), sqlite_store)
    assert summary.recorded == 1 and server.uids("INBOX") == []


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_wrong_certificate_is_refused(clean_imap_server, sqlite_store, tls):
    """Scenario: a server certificate not signed by the configured CA is refused, not retried."""
    server = clean_imap_server
    if tls == "implicit" and not server.tls_port:
        pytest.skip(f"{server.kind} has no implicit-TLS port")
    server.append("INBOX", dsn(1))
    config = config_for(server, tls, ca_file=server.wrong_cafile)
    box = ImapMailbox(config, sqlite_store)
    with pytest.raises(MailboxUnavailable, match="certificate"):
        run_mailbox(box, sqlite_store)
    assert box.reconnects == 0
    assert server.uids("INBOX") != [] and message_count(sqlite_store) == 0


def test_plaintext_to_remote_host_is_refused():
    """Scenario: tls = none to a non-loopback host is refused before connecting."""
    config = MailboxConfig(name="x", host="imap.example.net", username="u", tls="none",
                           password_env="NOPE")
    with pytest.raises(MailboxConfigError, match="allow_plaintext"):
        check_config(config)
    check_config(dataclasses.replace(config, allow_plaintext=True))


def test_password_never_in_logs(clean_imap_server, sqlite_store, stubbed, logs):
    """Scenario: a poll with a reconnect logs nothing containing the password."""
    server = clean_imap_server
    server.append("INBOX", dsn(1))
    poll(config_for(server), sqlite_store)
    bad = config_for(server, reconnect_attempts=1)
    box = ImapMailbox(dataclasses.replace(bad, host="127.0.0.2"), sqlite_store)
    with pytest.raises(MailboxUnavailable):
        run_mailbox(box, sqlite_store)
    assert logs.events("poll") and logs.events("imap_reconnect")
    assert server.password not in logs.text


def test_imap_trace_only_when_its_logger_keeps_it(clean_imap_server):
    """Scenario: imaplib traces the session only while the imapclient.imaplib logger is at
    DEBUG (its tracing costs CPU on every fetched message), and the trace hides the password."""
    server = clean_imap_server
    server.append("INBOX", dsn(1))
    box = ImapMailbox(config_for(server))
    quiet = box.connect()
    try:
        assert quiet._imap.debug == 0
    finally:
        quiet.logout()
    with captured("imapclient.imaplib") as handler:
        client = box.connect()
        client.select_folder("INBOX")
        client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        client.logout()
    assert "FETCH" in handler.text and "LOGIN" in handler.text
    assert server.password not in handler.text


def test_server_restarted_during_poll(fresh_imap_server, sqlite_store, stubbed):
    """Scenario: the server restarts after message 7 of 20: reconnect, all recorded once, moved."""
    server = fresh_imap_server
    if not server.restart_keeps_mail:
        pytest.skip(f"{server.kind} loses its mail on restart")
    server.append_many("INBOX", [dsn(n) for n in range(20)])
    count = 0

    def progress(_raw: RawMessage) -> None:
        nonlocal count
        count += 1
        if count == 7:
            server.restart()

    with ImapMailbox(config_for(server, batch_size=5), sqlite_store) as box:
        summary = run_mailbox(box, sqlite_store, progress=progress)
    assert box.reconnects >= 1
    assert summary.recorded == 20 and summary.duplicates == 0
    assert message_count(sqlite_store) == 20
    assert server.uids("INBOX") == [] and len(server.uids("Processed")) == 20


def test_server_down_too_long_gives_up_without_moving(
    fresh_imap_server, sqlite_store, stubbed, logs
):
    """Scenario: the server dies for good mid-poll: MailboxUnavailable; recorded mail stays put."""
    server = fresh_imap_server
    server.append_many("INBOX", [dsn(n) for n in range(6)])

    seen: list[RawMessage] = []

    def progress(raw: RawMessage) -> None:
        seen.append(raw)
        if len(seen) == 2:
            server.kill_hard()

    config = config_for(server, batch_size=3, reconnect_attempts=2)
    with ImapMailbox(config, sqlite_store) as box, pytest.raises(MailboxUnavailable):
        run_mailbox(box, sqlite_store, progress=progress)
    assert box.reconnects == 2
    assert [r.rp_fields["attempt"] for r in logs.events("imap_reconnect")] == [1, 2]
    (failed,) = logs.events("poll_failed")
    assert failed.rp_fields["seen"] == 3
    recorded = message_count(sqlite_store)
    server.start()
    if server.restart_keeps_mail:
        assert len(server.uids("INBOX")) == 6  # nothing moved: found again next poll
    again = poll(config, sqlite_store)
    assert message_count(sqlite_store) == recorded + again.recorded
    assert again.duplicates == (recorded if server.restart_keeps_mail else 0)


def test_copy_delete_expunge_touches_only_moved_uids(clean_imap_server, sqlite_store, stubbed):
    """Scenario: without MOVE, COPY + \\Deleted + UID EXPUNGE removes exactly the moved UIDs."""
    server = clean_imap_server
    for n in range(3):
        server.append("INBOX", dsn(n))
    server.append("INBOX", dsn(9), flags=("\\Deleted",))  # someone else's pending delete

    class NoMove(ImapMailbox):
        def connect(self) -> IMAPClient:
            client = super().connect()
            caps = tuple(c for c in client.capabilities() if c != b"MOVE")
            client.capabilities = lambda: caps  # type: ignore[method-assign]
            return client

    with NoMove(config_for(server), sqlite_store) as box:
        summary = run_mailbox(box, sqlite_store, limit=2)
        assert box._can_move is False
    assert summary.recorded == 2
    assert len(server.uids("Processed")) == 2
    assert len(server.uids("INBOX")) == 2  # the third bounce and the \Deleted one


def test_large_message_fetched_in_parts(clean_imap_server, sqlite_store):
    """Scenario: a bounce over max_fetch_bytes is reduced to the parts a bounce needs."""
    server = clean_imap_server
    pad = (b"QUJD" * 19 + b"\r\n") * 4000  # ~300 kB of base64 in the returned original
    server.append("INBOX", dsn(1, pad))
    config = config_for(server, max_fetch_bytes=64 * 1024)
    with ImapMailbox(config, sqlite_store) as box:
        raws = list(box.fetch_new())
    assert len(raws) == 1
    raw = raws[0]
    assert raw.size is not None and raw.size > 300_000 and len(raw.data) < 8_000
    from returnpath.parsers.message import Message

    msg = Message(raw.data)
    assert b"Final-Recipient: rfc822; user1@example.org" in raw.data
    assert b"Message-ID: <orig-1@example.com>" in raw.data
    assert msg is not None
    assert server.uids("INBOX") != []  # fetching is read-only: nothing moved or flagged


def test_uid_range_search_filters_the_last_message(clean_imap_server, sqlite_store):
    """Scenario: `UID n:*` past the highest UID still returns it; the mailbox filters it out."""
    server = clean_imap_server
    for n in range(3):
        server.append("INBOX", dsn(n))
    highest = max(server.uids("INBOX"))
    with ImapMailbox(config_for(server), sqlite_store, keep_in_place=True) as box:
        box._call("connect", lambda c: None)
        raw_answer = box._call("search", lambda c: c.search(["UID", f"{highest + 1}:*"]))
        assert list(raw_answer) == [highest]  # the server's answer: the pitfall is real
        assert box._search(highest) == []
        assert box._search(highest - 1) == [highest]


def test_large_single_part_message_cut(clean_imap_server, sqlite_store):
    """Scenario: a large plain-text bounce keeps its headers and the start of its text."""
    server = clean_imap_server
    head = (
        b"From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@example.com\r\n"
        b"Subject: failure notice\r\nMessage-ID: <plain-1@mx.example.net>\r\n\r\n"
        b"<user1@example.org>:\r\n550 5.1.1 user unknown\r\n\r\n"
    )
    server.append("INBOX", head + b"x" * 76 * 8000 + b"\r\n")
    config = config_for(server, max_fetch_bytes=64 * 1024)
    with ImapMailbox(config, sqlite_store) as box:
        (raw,) = list(box.fetch_new())
    assert raw.size is not None and raw.size > 600_000
    assert raw.data.startswith(b"From: MAILER-DAEMON@mx.example.net")
    assert b"550 5.1.1 user unknown" in raw.data
    assert 64 * 1024 < len(raw.data) < 300 * 1024


@pytest.mark.postgres
def test_database_down_mid_poll_moves_nothing(
    clean_imap_server, fresh_pg_database, pg_server_url, stubbed
):
    """Scenario: PostgreSQL refuses connections after the first batch of 2 of 6 is committed:
    the poll stops, moves nothing, and the next poll records the rest once and moves all."""
    from sqlalchemy import create_engine

    from returnpath.poller.runner import PollAborted

    server = clean_imap_server
    server.append_many("INBOX", [dsn(n) for n in range(6)])
    dbname = fresh_pg_database.rsplit("/", 1)[1]
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")

    def allow(on: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS {str(on).lower()}'))
            if not on:
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ), {"d": dbname})

    seen: list[RawMessage] = []

    def progress(raw: RawMessage) -> None:
        seen.append(raw)
        if len(seen) == 2:
            allow(False)

    store = open_store(fresh_pg_database)
    try:
        config = config_for(server, batch_size=10)
        with ImapMailbox(config, store) as box, pytest.raises(PollAborted, match="database"):
            # Batches of 2 to record, inside one FETCH batch of 10: nothing is due to move yet.
            run_mailbox(box, store, progress=progress, batch_size=2)
        assert len(server.uids("INBOX")) == 6
        allow(True)
        again = poll(config, store)
        assert (again.seen, again.recorded, again.duplicates) == (6, 4, 2)
        assert message_count(store) == 6 and server.uids("INBOX") == []
    finally:
        allow(True)
        store.close()
        admin.dispose()


def test_reading_the_processed_folder_keeps_mail_there(clean_imap_server, sqlite_store, stubbed):
    """Scenario: a pass over the processed folder itself records its mail and moves nothing."""
    server = clean_imap_server
    server.append_many("Processed", [dsn(n) for n in range(3)])
    before = server.uids("Processed")
    with ImapMailbox(config_for(server), sqlite_store, folder="Processed") as box:
        summary = run_mailbox(box, sqlite_store)
        again = run_mailbox(box, sqlite_store)
    assert summary.recorded == 3 and again.seen == 0
    assert server.uids("Processed") == before and server.uids("Unparsed") == []
