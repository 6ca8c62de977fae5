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
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from support.dovecot import DovecotServer, dovecot_binary
from support.imap_base import ImapTestServer
from support.pymap_server import PymapServer

_FORCE_ENV = "RETURNPATH_TEST_IMAP"


def imap_server_kind() -> str:
    """"dovecot" or "pymap": which server the fixtures start on this machine."""
    forced = os.environ.get(_FORCE_ENV, "").strip().lower()
    if forced in ("dovecot", "pymap"):
        return forced
    return "dovecot" if dovecot_binary() and os.geteuid() == 0 else "pymap"


def new_imap_server(root: Path) -> ImapTestServer:
    """A started server of the kind chosen for this machine, with its files under root."""
    server: ImapTestServer
    server = DovecotServer(root) if imap_server_kind() == "dovecot" else PymapServer(root)
    server.start()
    return server


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapTestServer]:
    """The session's IMAP server on 127.0.0.1; stopped by PID at the end."""
    server = new_imap_server(tmp_path_factory.mktemp("imap"))
    try:
        yield server
    finally:
        server.stop()


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
def fresh_imap_server(tmp_path: Path) -> Iterator[ImapTestServer]:
    """A server of this test's own, which it may restart or kill."""
    server = new_imap_server(tmp_path / "imap")
    try:
        yield server
    finally:
        server.stop()
