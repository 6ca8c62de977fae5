"""The test IMAP servers themselves: mail goes in and comes out, TLS is verified, restarts work."""

from __future__ import annotations

import ssl

import pytest
from imapclient import IMAPClient

from support.imap_base import ImapTestServer


def _message(n: int) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@example.com\r\n"
        f"Subject: Undelivered Mail Returned to Sender {n}\r\n"
        f"Message-ID: <fixture-{n}@mx.example.net>\r\n\r\nbody {n}\r\n"
    ).encode()


def test_append_then_search_and_fetch(imap_server: ImapTestServer, imap_client: IMAPClient):
    """Scenario: two messages appended by the helper are found and fetched byte for byte."""
    first = imap_server.append("INBOX", _message(1))
    imap_server.append("INBOX", _message(2))
    imap_client.select_folder("INBOX")
    uids = imap_client.search("ALL")
    assert len(uids) == 2
    if first is not None:
        assert first in uids
    fetched = imap_client.fetch(uids, ["BODY.PEEK[]"])
    bodies = sorted(d[b"BODY[]"] for d in fetched.values())
    assert bodies == sorted([_message(1), _message(2)])


def test_reset_empties_inbox_and_drops_folders(imap_server: ImapTestServer, imap_client):
    """Scenario: after reset() INBOX is empty and a test's extra folder is gone."""
    imap_server.append("INBOX", _message(3))
    imap_server.append("Processed", _message(4))
    assert imap_server.uids("Processed")
    imap_server.reset()
    assert imap_server.uids("INBOX") == []
    imap_client.noop()
    assert not imap_client.folder_exists("Processed")


def test_implicit_tls_verified_against_test_ca(imap_server: ImapTestServer, imap_client):
    """Scenario: IMAPS with the test CA logs in and sees the mail appended on the plain port."""
    imap_server.append("INBOX", _message(5))
    client = imap_server.connect("implicit", cafile=imap_server.cafile)
    try:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search("ALL")) == 1
    finally:
        client.logout()


def test_implicit_tls_refused_with_wrong_ca(imap_server: ImapTestServer):
    """Scenario: a client trusting an unrelated CA refuses the server's certificate."""
    with pytest.raises(ssl.SSLCertVerificationError):
        imap_server.connect("implicit", cafile=imap_server.wrong_cafile, login=False)


def test_default_trust_store_refuses_test_certificate(imap_server: ImapTestServer):
    """Scenario: without the test CA the system trust store does not accept the certificate."""
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(imap_server.host, port=imap_server.tls_port, ssl=True, timeout=10)


def test_starttls_verified_and_wrong_ca_refused(imap_server: ImapTestServer):
    """Scenario: STARTTLS on the plain port succeeds with the test CA and fails with another."""
    client = imap_server.connect("starttls", cafile=imap_server.cafile)
    try:
        assert client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    finally:
        client.logout()
    with pytest.raises(ssl.SSLCertVerificationError):
        imap_server.connect("starttls", cafile=imap_server.wrong_cafile, login=False)


def test_restart_and_kill_hard(fresh_imap_server: ImapTestServer):
    """Scenario: a restarted server answers again (mail kept where supported); SIGKILL stops it."""
    server = fresh_imap_server
    server.append("INBOX", _message(6))
    first_pid = server.pid
    server.restart()
    assert server.pid != first_pid
    expected = 1 if server.restart_keeps_mail else 0
    assert len(server.uids("INBOX")) == expected
    server.kill_hard()
    assert not server.running
    with pytest.raises(OSError):
        server.connect(timeout=3)


def test_set_uidvalidity(fresh_imap_server: ImapTestServer):
    """Scenario: set_uidvalidity() gives INBOX a new UIDVALIDITY and keeps its messages."""
    server = fresh_imap_server
    if not server.can_set_uidvalidity:
        pytest.skip(f"{server.kind} cannot change UIDVALIDITY")
    server.append("INBOX", _message(7))
    before = server.uidvalidity("INBOX")
    server.set_uidvalidity("INBOX", before + 1000)
    assert server.uidvalidity("INBOX") == before + 1000
    assert len(server.uids("INBOX")) == 1
