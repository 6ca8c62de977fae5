"""Mailboxes (IMAP, files), the one runner that records their mail, and the service.

    from returnpath.poller import FilesMailbox, ImapMailbox, run_mailbox

The names are imported on first use: a parse worker imports returnpath.poller.parsework and,
through this package, nothing of storage or IMAP.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from returnpath.poller.files import FilesMailbox
    from returnpath.poller.imap import ImapMailbox
    from returnpath.poller.mailbox import Disposition, Mailbox, PollerError
    from returnpath.poller.runner import PollAborted, RunSummary, run_mailbox

_HOMES = {
    "Disposition": "returnpath.poller.mailbox",
    "FilesMailbox": "returnpath.poller.files",
    "ImapMailbox": "returnpath.poller.imap",
    "Mailbox": "returnpath.poller.mailbox",
    "PollAborted": "returnpath.poller.runner",
    "PollerError": "returnpath.poller.mailbox",
    "RunSummary": "returnpath.poller.runner",
    "run_mailbox": "returnpath.poller.runner",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "Disposition",
    "FilesMailbox",
    "ImapMailbox",
    "Mailbox",
    "PollAborted",
    "PollerError",
    "RunSummary",
    "run_mailbox",
]
