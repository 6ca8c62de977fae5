"""The runner's batches: one transaction per batch into a real store, parse workers ahead."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

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
from returnpath.parsers import ParseOptions
from returnpath.poller import runner as runner_module
from returnpath.poller.files import FilesMailbox
from returnpath.poller.mailbox import Disposition
from returnpath.poller.runner import run_mailbox
from returnpath.storage import Store, open_store
from returnpath.storage.tables import MessageRow
from support.logcapture import EventNames
from test_poller_files import RecordingMailbox, eml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'rp.db'}")
    yield store
    store.close()


@pytest.fixture
def six(tmp_path: Path) -> Path:
    root = tmp_path / "six"
    root.mkdir()
    for n in range(1, 7):
        (root / f"{n}.eml").write_bytes(eml(n))
    return root


def complaint_parse(raw: bytes, options: object = None) -> ParseResult:
    """Every message one complaint; message 3's feedback type is not text (its record fails)."""
    broken = b"<bounce-3@" in raw
    delivery = Delivery(
        "user@example.org", Action.NONE, None,
        feedback_type=123 if broken else "abuse",  # type: ignore[arg-type]
        verdict=Verdict(Category.COMPLAINT, Reason.FEEDBACK, "test"),
    )
    return ParseResult(kind=MessageKind.FEEDBACK, deliveries=(delivery,))


def test_failing_message_in_a_batch_is_quarantined_alone(
    six: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario: message 3 of a batch of 6 fails to record: it alone is recorded as unparsed
    with its error and quarantined; the other five are recorded and processed."""
    monkeypatch.setattr(runner_module, "parse", complaint_parse)
    box = RecordingMailbox([six])
    summary = run_mailbox(box, sqlite_store, batch_size=10, parse_workers=0)
    assert (summary.seen, summary.recorded, summary.unparsed, summary.errors) == (6, 6, 1, 0)
    assert summary.unsubscribed == 1  # the first complaint; the others find it unsubscribed
    done = {Path(path or "").name: disposition for path, disposition in box.done}
    assert done.pop("3.eml") is Disposition.UNPARSED
    assert set(done.values()) == {Disposition.PROCESSED} and len(done) == 5
    with sqlite_store.engine.connect() as conn:
        rows = conn.execute(select(MessageRow.kind, MessageRow.defects)).all()
    unknown = [defects for kind, defects in rows if kind == "unknown"]
    assert len(rows) == 6 and len(unknown) == 1
    assert any("record failed" in d for d in unknown[0])


def test_stop_during_a_batch_commits_and_marks_it(
    six: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario: a stop requested while batch 1 (of 3 x 2) is recorded: that batch is
    committed and marked, the rest is neither recorded nor marked."""
    monkeypatch.setattr(runner_module, "parse", complaint_parse)
    stop = threading.Event()
    box = RecordingMailbox([six])
    summary = run_mailbox(box, sqlite_store, batch_size=2, parse_workers=0, stop=stop,
                          progress=lambda raw: stop.set())
    assert summary.stopped and summary.seen == 2 and len(box.done) == 2
    assert box.flushed == 1
    with sqlite_store.engine.connect() as conn:
        assert len(conn.execute(select(MessageRow.id)).all()) == 2


def _fixture_batches() -> list[list[RawMessage]]:
    box = FilesMailbox([FIXTURES / "dsn", FIXTURES / "autoreply", FIXTURES / "arf"])
    messages = list(box.fetch_new())
    return [messages[k : k + 4] for k in range(0, len(messages), 4)]


def _through_workers(options: ParseOptions) -> tuple[list[ParseResult], bool]:
    """Every fixture batch through _Parsers with one worker, started and warmed up first."""
    batches = _fixture_batches()
    with runner_module._Parsers(options, 1, 4, logging.getLogger("returnpath.test")) as parsers:
        parsers._start()
        assert parsers._warm is not None
        with contextlib.suppress(Exception):  # a failed warm-up is the fallback's business
            parsers._warm.result(timeout=60)
        results = [r for _, batch_results in parsers.parsed(iter(batches))
                   for r in batch_results]
        used = parsers._pool is not None
    return results, used


def test_parse_workers_give_the_same_results() -> None:
    """Scenario: the fixtures parsed by a worker process, a batch ahead, give the results (in
    order) of parsing in the runner itself."""
    options = ParseOptions()
    here = [runner_module._safe_parse(raw.data, options)
            for batch in _fixture_batches() for raw in batch]
    assert len(here) > 8  # several batches of 4
    there, used = _through_workers(options)
    assert used
    assert there == here


def test_workers_that_fail_fall_back_to_parsing_here() -> None:
    """Scenario: work cannot be sent to the workers (options that do not pickle): every batch
    is parsed in the runner's process instead, with one warning, and nothing is lost."""
    options = ParseOptions()
    object.__setattr__(options, "unpicklable", lambda: None)
    expected = [runner_module._safe_parse(raw.data, options)
                for batch in _fixture_batches() for raw in batch]
    handler = EventNames()
    logging.getLogger("returnpath").addHandler(handler)
    try:
        got, used = _through_workers(options)
    finally:
        logging.getLogger("returnpath").removeHandler(handler)
    assert not used
    assert got == expected
    assert handler.events.count("parse_workers_failed") == 1


def test_run_with_parse_workers_records_like_without(tmp_path: Path) -> None:
    """Scenario: a backfill over the fixtures with parse workers allowed records the same
    messages, verdicts and stored bytes (compressed by the workers) as one that parses and
    compresses in the runner's process."""
    summaries, stored = [], []
    for workers in (0, 1):
        store = open_store(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        try:
            box = FilesMailbox([FIXTURES])
            summaries.append(run_mailbox(box, store, batch_size=8, parse_workers=workers))
            with store.engine.connect() as conn:
                stored.append(set(conn.execute(select(MessageRow.sha256, MessageRow.raw))))
        finally:
            store.close()
    plain, pooled = summaries
    assert plain.seen > 16 and plain.errors == 0
    assert (pooled.seen, pooled.recorded, pooled.unparsed, pooled.categories) == (
        plain.seen, plain.recorded, plain.unparsed, plain.categories)
    assert stored[0] == stored[1]
    assert all(hashlib.sha256(zlib.decompress(raw)).hexdigest() == sha
               for sha, raw in stored[1])
