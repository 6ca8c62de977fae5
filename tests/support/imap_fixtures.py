"""IMAP server fixtures (Dovecot when installed, else pymap).

- `imap_server`: one server for the whole session (see support.imap_base.ImapTestServer for
  its attributes and helpers: host, port, tls_port, user, password, cafile, wrong_cafile, pid,
  kind, start/stop/restart/kill_hard, append, uids, reset, mailbox_settings).
- `clean_imap_server`: the session's server with its mailbox reset, for this test.
- `imap_client`: a logged-in IMAPClient on a freshly reset mailbox, INBOX selected.
- `fresh_imap_server`: a server of its own for one test, for tests that restart or kill it.

Dovecot is used when its binary exists and the tests run as root (its mail processes need a
chowned maildir); otherwise pymap. RETURNPATH_TEST_IMAP=pymap (or dovecot) forces the choice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from support.dovecot import DovecotServer, dovecot_binary
from support.imap_base import ImapTestServer
from support.pymap_server import PymapServer

_FORCE_ENV = "RETURNPATH_TEST_IMAP"
#: Set to keep each server's directory (config, log, maildir) after the tests, for debugging.
_KEEP_ENV = "RETURNPATH_TEST_KEEP_IMAP"


def imap_server_kind() -> str:
    """"dovecot" or "pymap": which server the fixtures start on this machine."""
    forced = os.environ.get(_FORCE_ENV, "").strip().lower()
    if forced in ("dovecot", "pymap"):
        return forced
    return "dovecot" if dovecot_binary() and os.geteuid() == 0 else "pymap"


@contextlib.contextmanager
def running_imap_server() -> Iterator[ImapTestServer]:
    """A started server of the kind chosen for this machine; stopped by PID and removed after.

    Its files live in a directory of its own under the system temp dir, not under pytest's
    base temp dir: every pytest start (another run on the same machine, too) resets that to
    0700, which would lock Dovecot's mail processes (uid 5000) out of a running server.
    """
    root = Path(tempfile.mkdtemp(prefix="returnpath-imap-"))
    server: ImapTestServer
    try:
        server = DovecotServer(root) if imap_server_kind() == "dovecot" else PymapServer(root)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        if not os.environ.get(_KEEP_ENV):
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapTestServer]:
    """The session's IMAP server on 127.0.0.1; stopped by PID at the end."""
    with running_imap_server() as server:
        yield server


@pytest.fixture
def imap_client(imap_server: ImapTestServer) -> Iterator[IMAPClient]:
    """A logged-in plain-port client on an emptied mailbox (INBOX selected)."""
    if not imap_server.running:  # a test stopped the shared server: bring it back
        imap_server.start()
    imap_server.reset()
    client = imap_server.connect()
    client.select_folder("INBOX")
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.logout()


@pytest.fixture
def clean_imap_server(imap_server: ImapTestServer) -> ImapTestServer:
    """The session's server with its mailbox reset (INBOX empty, no other folder)."""
    if not imap_server.running:
        imap_server.start()
    imap_server.reset()
    return imap_server


@pytest.fixture
def fresh_imap_server() -> Iterator[ImapTestServer]:
    """A server of this test's own, which it may restart or kill."""
    with running_imap_server() as server:
        yield server
