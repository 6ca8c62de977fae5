"""poller.fetch: the plain FETCH shapes read directly, everything else left to imapclient."""

from __future__ import annotations

from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response

from returnpath.poller import fetch as fetch_module
from returnpath.poller.fetch import fetch, read_plain
from support.imap_fixtures import ImapTestServer

BODY = b"From: MAILER-DAEMON@example.com\r\nSubject: failure (x)\r\n\r\n{3}\r\n) UID 9\r\n"

PLAIN_SHAPES: dict[str, list[Any]] = {
    "sizes and dates": [
        b'1 (UID 11 RFC822.SIZE 3456 INTERNALDATE "28-Nov-2026 15:00:00 +0100")',
        b'2 (UID 12 RFC822.SIZE 78 INTERNALDATE " 1-Dec-2026 01:02:03 -0000")',
    ],
    "items in another order": [
        b'1 (INTERNALDATE "28-Nov-2026 15:00:00 +0000" RFC822.SIZE 3456 UID 11)',
    ],
    "bodies": [
        (b"1 (UID 11 BODY[] {%d}" % len(BODY), BODY), b")",
        (b"2 (UID 12 BODY[] {0}", b""), b")",
    ],
    "uid after the body": [(b"3 (BODY[] {%d}" % len(BODY), BODY), b" UID 13)"],
    "nothing found": [None],
}

OTHER_SHAPES: dict[str, list[Any]] = {
    "unsolicited flags": [
        (b"1 (UID 11 BODY[] {%d}" % len(BODY), BODY), b")",
        b"1 (FLAGS (\\Seen) UID 11)",
    ],
    "flags inside the body response": [
        (b"1 (UID 11 FLAGS (\\Seen) BODY[] {%d}" % len(BODY), BODY), b")",
    ],
    "quoted body": [b'1 (UID 11 BODY[] "short")'],
    "nil body": [b"1 (UID 11 BODY[] NIL)"],
    "no uid": [b"1 (RFC822.SIZE 3456)"],
    "modseq": [b"1 (UID 11 MODSEQ (12345) RFC822.SIZE 3456)"],
    "literal shorter than announced": [(b"1 (UID 11 BODY[] {999}", BODY), b")"],
}


@pytest.mark.parametrize("shape", sorted(PLAIN_SHAPES))
def test_plain_shapes_read_as_imapclient_reads_them(shape: str) -> None:
    """Scenario: a response of the plain shape gives exactly imapclient's own result."""
    data = PLAIN_SHAPES[shape]
    assert read_plain(data) == dict(parse_fetch_response(data, True, True))


@pytest.mark.parametrize("shape", sorted(OTHER_SHAPES))
def test_other_shapes_are_left_to_imapclient(shape: str) -> None:
    """Scenario: any other shape is not guessed at: read_plain declines it as a whole."""
    assert read_plain(OTHER_SHAPES[shape]) is None


def test_unreadable_date_is_none_as_in_imapclient() -> None:
    """Scenario: an INTERNALDATE no parser can read is None, the value imapclient gives."""
    data = [b'1 (UID 11 RFC822.SIZE 3 INTERNALDATE "yesterday")']
    assert read_plain(data) == dict(parse_fetch_response(data, True, True))
    assert read_plain(data) == {11: {b"SEQ": 1, b"RFC822.SIZE": 3, b"INTERNALDATE": None}}


def test_fetch_on_a_real_server_equals_imapclient(
    clean_imap_server: ImapTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario: sizes, dates and bodies of real mail (one with a brace in it) from the test
    server are read by the plain path, and give what IMAPClient.fetch() gives; unknown UIDs
    are left out."""

    def not_plain(*args: object) -> object:
        raise AssertionError("the server's response was not read as plain")

    monkeypatch.setattr(fetch_module, "parse_fetch_response", not_plain)
    clean_imap_server.append_many("INBOX", [BODY, b"Subject: two\r\n\r\nbody\r\n"])
    with clean_imap_server.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))
        for items in (["RFC822.SIZE", "INTERNALDATE"], ["BODY.PEEK[]"]):
            ours = fetch(client, [*uids, 999], items)
            assert ours == dict(client.fetch([*uids, 999], items))
            assert sorted(ours) == uids
        assert fetch(client, uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"] == BODY
