"""The Mailbox protocol: where returned mail comes from, and how it is marked once recorded.

The runner (poller/runner.py) is the only consumer. A source yields messages one at a time
(bounded memory), and is told what became of each one only after its verdict was committed,
so a crash between the two re-finds the message on the next pass (DESIGN.md §5).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Protocol, runtime_checkable

from returnpath.model import RawMessage


class Disposition(StrEnum):
    """Where a recorded message goes: the processed folder, or the unparsed (quarantine) one."""

    PROCESSED = "processed"
    UNPARSED = "unparsed"


class PollerError(Exception):
    """Base class of every error raised by the poller package."""


class MailboxUnavailable(PollerError):
    """Raised when a mailbox cannot be reached even after the reconnect attempts."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        self.detail = detail
        super().__init__(f"mailbox {name}: {detail}")


class MailboxConfigError(PollerError):
    """Raised when a mailbox's settings cannot work (no password, plaintext to a remote host)."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        self.detail = detail
        super().__init__(f"mailbox {name}: {detail}")


@runtime_checkable
class Mailbox(Protocol):
    """A source of returned mail."""

    #: The name recorded as RawMessage.source ("file" for file sources, else the mailbox name).
    name: str

    def fetch_new(self) -> Iterator[RawMessage]:
        """Yield the messages not yet done, one at a time; memory stays bounded."""
        ...

    def mark_done(self, message: RawMessage, disposition: Disposition) -> None:
        """Note that `message` was committed; it is moved (or flagged) by the next flush."""
        ...

    def flush(self) -> None:
        """Carry out the moves noted by mark_done; called by the runner before it returns."""
        ...

    def close(self) -> None:
        """Release the connection or files; safe to call twice."""
        ...
