"""File sources and the runner, against an in-memory store (integration tests use the real one)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

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
from returnpath.poller.files import FilesMailbox, FileSourceError, iter_mbox, to_crlf
from returnpath.poller.mailbox import Disposition
from returnpath.poller.runner import PollAborted, run_mailbox
from returnpath.storage import DatabaseUnavailable


def eml(n: int, subject: str = "Undelivered Mail Returned to Sender") -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.net\nTo: bounces@example.com\n"
        f"Message-ID: <bounce-{n}@mx.example.net>\nSubject: {subject}\n\nbody {n}\n"
        "From the desk of nobody: a body line that is not a separator.\n"
    ).encode()


@dataclass
class Outcome:
    message_id: int
    created: bool
    events: int
    unsubscribed: int


class FakeStore:
    """Idempotent on sha256 like the real store; can be told to fail."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[RawMessage, ParseResult]] = {}
        self.fail_subjects: set[str] = set()
        self.down_after: int | None = None
        self.calls = 0

    def record(self, raw: RawMessage, result: ParseResult) -> Outcome:
        self.calls += 1
        if self.down_after is not None and self.calls > self.down_after:
            raise DatabaseUnavailable("sqlite:///x.db", "connection refused")
        if result.kind is not MessageKind.UNKNOWN and any(
            s.encode() in raw.data for s in self.fail_subjects
        ):
            raise ValueError("constraint violated")
        key = hashlib.sha256(raw.data).hexdigest()
        if key in self.rows:
            return Outcome(1, False, 0, 0)
        self.rows[key] = (raw, result)
        return Outcome(len(self.rows), True, len(result.deliveries), 0)


class RecordingMailbox(FilesMailbox):
    def __init__(self, paths: list[Path]) -> None:
        super().__init__(paths)
        self.done: list[tuple[str | None, Disposition]] = []
        self.flushed = 0

    def mark_done(self, message: RawMessage, disposition: Disposition) -> None:
        self.done.append((message.path, disposition))

    def flush(self) -> None:
        self.flushed += 1


def hard_parse(raw: bytes, options: object = None) -> ParseResult:
    """A stand-in classifier: "Undelivered" subjects are one hard bounce."""
    if b"Undelivered" not in raw:
        return ParseResult(kind=MessageKind.UNKNOWN)
    verdict = Verdict(Category.HARD, Reason.USER_UNKNOWN, "test")
    delivery = Delivery("user@example.org", Action.FAILED, "5.1.1", verdict=verdict)
    return ParseResult(kind=MessageKind.DSN, deliveries=(delivery,))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "mail"
    (root / "sub").mkdir(parents=True)
    (root / "a.eml").write_bytes(eml(1))
    (root / "sub" / "b.EML").write_bytes(eml(2, "Out of office"))
    (root / "notes.json").write_text("{}")
    mbox = b"".join(
        b"From MAILER-DAEMON Thu Jul  2 12:05:05 2020\n"
        + eml(n).replace(b"\nFrom the", b"\n>From the")
        + b"\n"
        for n in (3, 4, 5)
    )
    (root / "old.mbox").write_bytes(mbox)
    maildir = root / "box"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1700000000.1.host").write_bytes(eml(6))
    (maildir / "cur" / "1700000000.2.host:2,S").write_bytes(eml(7))
    (maildir / ".Archive" / "cur").mkdir(parents=True)
    (maildir / ".Archive" / "new").mkdir()
    (maildir / ".Archive" / "cur" / "1700000000.3.host:2,S").write_bytes(eml(8))
    return root


def test_directory_walk_reads_eml_mbox_and_maildir(tree: Path) -> None:
    """Scenario: a tree with .eml, mbox, Maildir (with a subfolder) and a .json file is walked."""
    box = FilesMailbox([tree])
    messages = list(box.fetch_new())
    ids = sorted(int(m.data.split(b"bounce-")[1].split(b"@")[0]) for m in messages)
    assert ids == [1, 2, 3, 4, 5, 6, 7, 8]
    assert box.count() == 8
    assert all(m.source == "file" and m.uid is None and m.path for m in messages)


def test_mbox_separators_removed_and_from_unescaped(tree: Path) -> None:
    """Scenario: an mbox message loses its separator, its trailing blank line and its > escape."""
    first = next(iter_mbox(tree / "old.mbox"))
    assert first == eml(3)


def test_file_messages_get_crlf_line_endings(tree: Path) -> None:
    """Scenario: LF, CRLF and CR files all yield CRLF bytes, as an IMAP server sends them."""
    (tree / "lf.eml").write_bytes(b"Subject: a\n\nbody\n")
    (tree / "crlf.eml").write_bytes(b"Subject: a\r\n\r\nbody\r\n")
    (tree / "cr.eml").write_bytes(b"Subject: a\r\rbody\r")
    datas = {m.path: m.data for m in FilesMailbox([tree]).fetch_new()}
    for name in ("lf.eml", "crlf.eml", "cr.eml"):
        assert datas[str(tree / name)] == b"Subject: a\r\n\r\nbody\r\n"
    assert all(b"\n" not in d.replace(b"\r\n", b"") for d in datas.values())
    assert to_crlf(eml(3)).replace(b"\r\n", b"\n") == eml(3)


def test_explicit_file_without_separator_is_one_message(tmp_path: Path) -> None:
    """Scenario: a file named on the command line without .eml is read as one message."""
    path = tmp_path / "bounce.txt"
    path.write_bytes(eml(9))
    assert [m.data for m in FilesMailbox([path]).fetch_new()] == [to_crlf(eml(9))]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    """Scenario: a path that does not exist is refused before anything runs."""
    with pytest.raises(FileSourceError, match="no such file"):
        FilesMailbox([tmp_path / "nope"])


def test_run_twice_records_once(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario: the runner over the same files twice records each message once."""
    monkeypatch.setattr(runner_module, "parse", hard_parse)
    store = FakeStore()
    first = run_mailbox(RecordingMailbox([tree]), store)
    second = run_mailbox(RecordingMailbox([tree]), store)
    assert (first.seen, first.recorded, first.duplicates) == (8, 8, 0)
    assert first.categories["hard"] == 7 and first.unparsed == 1
    assert (second.recorded, second.duplicates, sum(second.categories.values())) == (0, 8, 0)
    assert len(store.rows) == 8


def test_failing_record_is_quarantined_and_poll_goes_on(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario: one message whose record fails is recorded as unparsed with its error."""
    monkeypatch.setattr(runner_module, "parse", hard_parse)
    store = FakeStore()
    store.fail_subjects = {"bounce-4@"}
    box = RecordingMailbox([tree])
    summary = run_mailbox(box, store)
    assert summary.seen == 8 and summary.errors == 0 and summary.unparsed == 2
    bad = [r for r, res in store.rows.values() if b"bounce-4@" in r.data]
    assert len(bad) == 1
    result = store.rows[hashlib.sha256(bad[0].data).hexdigest()][1]
    assert result.kind is MessageKind.UNKNOWN
    assert any("constraint violated" in d for d in result.defects)
    assert (str(tree / "old.mbox"), Disposition.UNPARSED) in box.done


def test_database_down_stops_without_marking(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario: the database goes away after two commits: PollAborted, nothing more marked."""
    monkeypatch.setattr(runner_module, "parse", hard_parse)
    store = FakeStore()
    store.down_after = 2
    box = RecordingMailbox([tree])
    with pytest.raises(PollAborted, match="database unavailable"):
        run_mailbox(box, store)
    assert len(box.done) == 2 and box.flushed == 0


def test_stop_event_finishes_current_message(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario: a stop requested during message 3 returns after committing and marking it."""
    monkeypatch.setattr(runner_module, "parse", hard_parse)
    stop = threading.Event()
    box = RecordingMailbox([tree])
    seen: list[RawMessage] = []

    def progress(raw: RawMessage) -> None:
        seen.append(raw)
        if len(seen) == 3:
            stop.set()

    store = FakeStore()
    summary = run_mailbox(box, store, progress=progress, stop=stop)
    assert summary.stopped and summary.seen == 3 and len(store.rows) == 3
    assert len(box.done) == 3 and box.flushed == 1


def test_dry_run_and_limit(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario: a dry run with a limit counts verdicts, records and marks nothing."""
    monkeypatch.setattr(runner_module, "parse", hard_parse)
    box = RecordingMailbox([tree])
    summary = run_mailbox(box, None, dry_run=True, limit=5)
    assert summary.seen == 5 and summary.recorded == 0 and box.done == []
    assert sum(summary.categories.values()) == 5
