"""File sources for `backfill files`: .eml files, directories (recursive), mbox files, Maildirs.

Every message is read on its own, so memory stays bounded by the largest single message:
mbox files are streamed line by line, never read whole. Files have no UID, so recording is
idempotent by the sha256 of the bytes (the store's other unique key): a second run over the
same paths changes nothing. mark_done does nothing: files are never moved or changed.

Line endings are made CRLF, the form IMAP servers send, so that a message saved to a file
(usually with LF endings) has the same bytes, hence the same sha256, as when the service
fetched it: a file backfill over mail the service already recorded counts nothing twice.

How a path is read:
- a directory with `cur/` and `new/` subdirectories is a Maildir (both are read);
- another directory is walked recursively, in name order: Maildirs inside it as above,
  `.eml` files as one message each, and any other file that starts with an mbox
  separator line ("From sender date") as an mbox; other files (.json, notes) are skipped;
- a file named explicitly is an mbox when it starts with a separator line, else one message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from returnpath.model import RawMessage
from returnpath.parsers.mbox import is_separator, split_mbox, unescape
from returnpath.poller.mailbox import Disposition, PollerError

#: RawMessage.source for every message read from files.
FILE_SOURCE = "file"

class FileSourceError(PollerError):
    """Raised when a path given to a file source does not exist or cannot be read."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(f"{path}: {detail}")


def to_crlf(data: bytes) -> bytes:
    """The message with every line ending (LF, CRLF or a lone CR) made CRLF."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data.replace(b"\n", b"\r\n")


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def is_mbox_file(path: Path) -> bool:
    """True when the file's first line is an mbox separator line."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(1024)
    except OSError:
        return False
    if b"\n" not in first and b"\r" in first:  # CR-only line endings: one "line" read
        first = first.split(b"\r", 1)[0]
    return is_separator(first)


def iter_mbox(path: Path) -> Iterator[bytes]:
    """The messages of an mbox file, one at a time, separators removed and >From unescaped."""
    with path.open("rb") as fh:
        head = fh.read(65536)
        if b"\r" in head and b"\n" not in head:
            # CR-only line endings (old Mac mail): no line iterator splits them; such files
            # are small and rare, so read this one whole.
            yield from split_mbox(head + fh.read())
            return
        fh.seek(0)
        lines: list[bytes] = []
        started = False
        for line in fh:
            if is_separator(line):
                if started:
                    yield _mbox_message(lines)
                lines = []
                started = True
                continue
            lines.append(unescape(line))
        if started:
            yield _mbox_message(lines)


def _mbox_message(lines: list[bytes]) -> bytes:
    # The writer's blank line before the next separator belongs to the mbox, not the message.
    if lines and lines[-1].strip() == b"":
        lines = lines[:-1]
    return b"".join(lines)


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


class FilesMailbox:
    """A Mailbox over local paths (see the module docstring for how each path is read)."""

    name = FILE_SOURCE

    def __init__(self, paths: list[str | os.PathLike[str]]) -> None:
        self.paths = [Path(p) for p in paths]
        for p in self.paths:
            if not p.exists():
                raise FileSourceError(str(p), "no such file or directory")

    def fetch_new(self) -> Iterator[RawMessage]:
        for path in self.paths:
            yield from self._read_path(path, explicit=True)

    def _read_path(self, path: Path, *, explicit: bool) -> Iterator[RawMessage]:
        if path.is_dir():
            if is_maildir(path):
                yield from self._read_maildir(path)
                return
            for child in sorted(path.iterdir()):
                if child.is_dir() or child.suffix.lower() == ".eml" or is_mbox_file(child):
                    yield from self._read_path(child, explicit=False)
            return
        if is_mbox_file(path):
            for data in iter_mbox(path):
                data = to_crlf(data)
                yield RawMessage(FILE_SOURCE, str(path), None, None, data, _mtime(path), str(path),
                                 size=len(data))
            return
        if explicit or path.suffix.lower() == ".eml":
            yield self._read_file(path, str(path.parent))

    def _read_maildir(self, path: Path) -> Iterator[RawMessage]:
        for sub in ("new", "cur"):
            for child in sorted((path / sub).iterdir()):
                if child.is_file() and not child.name.startswith("."):
                    yield self._read_file(child, str(path))
        # Maildir++ subfolders (".Sent", ".Archive") sit beside cur/new/tmp.
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") and child.is_dir() and is_maildir(child):
                yield from self._read_maildir(child)

    @staticmethod
    def _read_file(path: Path, folder: str) -> RawMessage:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FileSourceError(str(path), exc.strerror or str(exc)) from exc
        data = to_crlf(data)
        return RawMessage(FILE_SOURCE, folder, None, None, data, _mtime(path), str(path),
                          size=len(data))

    def mark_done(self, message: RawMessage, disposition: Disposition) -> None:
        """Files are never moved or changed."""

    def flush(self) -> None:
        """Nothing is pending for files."""

    def close(self) -> None:
        """No file stays open between messages."""

    def count(self) -> int:
        """How many messages fetch_new will yield (for a progress bar); reads every path once."""
        return sum(1 for _ in self._count_iter())

    def _count_iter(self) -> Iterator[None]:
        for path in self.paths:
            yield from self._count_path(path, explicit=True)

    def _count_path(self, path: Path, *, explicit: bool) -> Iterator[None]:
        if path.is_dir():
            if is_maildir(path):
                for sub in ("new", "cur"):
                    for child in (path / sub).iterdir():
                        if child.is_file() and not child.name.startswith("."):
                            yield None
                for child in path.iterdir():
                    if child.name.startswith(".") and child.is_dir() and is_maildir(child):
                        yield from self._count_path(child, explicit=False)
                return
            for child in path.iterdir():
                if child.is_dir() or child.suffix.lower() == ".eml" or is_mbox_file(child):
                    yield from self._count_path(child, explicit=False)
            return
        if is_mbox_file(path):
            for _ in iter_mbox(path):
                yield None
            return
        if explicit or path.suffix.lower() == ".eml":
            yield None
