"""Mailboxes (IMAP, files), the one runner that records their mail, and the service.

    from returnpath.poller import FilesMailbox, ImapMailbox, run_mailbox
"""

from returnpath.poller.files import FilesMailbox
from returnpath.poller.imap import ImapMailbox
from returnpath.poller.mailbox import Disposition, Mailbox, PollerError
from returnpath.poller.runner import PollAborted, RunSummary, run_mailbox

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
