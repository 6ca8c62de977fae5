"""parse() never raises: arbitrary bytes, damaged real fixtures, and one 50 MB bounce.

Hypothesis drives the random inputs; the example counts are kept small so that this file
runs in seconds (deadline=None: the first parse of a run pays for imports and rule loading).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returnpath.model import MessageKind, ParseResult
from returnpath.parsers.parse import parse

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_BYTES = [p.read_bytes() for p in sorted(FIXTURES_DIR.rglob("*.eml"))]
FIXTURE_BYTES = [raw for raw in FIXTURE_BYTES if raw] or [b"From: a@example.com\n\nx\n"]

RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MUTATIONS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Fragments that steer random input into the parser's interesting paths.
MAIL_TOKENS = [
    b"From: MAILER-DAEMON@example.com\n",
    b"Subject: Undelivered Mail Returned to Sender\n",
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
    b"Content-Type: multipart/report; report-type=feedback-report; boundary=b\n",
    b"Content-Type: message/delivery-status\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: text/rfc822-headers\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b'Content-Type: text/plain; charset="x-unknown"\n',
    b"Auto-Submitted: auto-replied\n",
    b"X-Failed-Recipients: a@example.net\n",
    b"To: bounces+zzzz-aaaaaaaaaaaaaaaa@example.com\n",
    b"Subject: =?ISO-2022-JP?B?GyRCSVs6XxsoQg==?=\n",
    b"Subject: =?utf-8?q?broken\n",
    b"Final-Recipient: rfc822; a@example.net\n",
    b"Original-Recipient: rfc822;\n",
    b"Action: failed\n",
    b"Action: delayed\n",
    b"Status: 5.1.1\n",
    b"Status: 9.9.9.9\n",
    b"Diagnostic-Code: smtp; 550 5.1.1 <a@example.net>... User unknown\n",
    b"Feedback-Type: abuse\n",
    b"Original-Rcpt-To: <a@example.net>\n",
    b"--b\n",
    b"--b--\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"<a@example.net>:\n",
    b"Remote host said: 552 5.2.2 Mailbox full\n",
    b"\xff\xfe\x00",
    b"=\n",
    b"=?=?\n",
]


def _assert_result(result: object) -> None:
    assert isinstance(result, ParseResult)
    assert isinstance(result.kind, MessageKind)
    assert isinstance(result.defects, tuple)
    for delivery in result.deliveries:
        assert delivery.verdict is not None


@RANDOM
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(raw: bytes) -> None:
    """Scenario: any bytes at all yield a ParseResult, never an exception."""
    _assert_result(parse(raw))


@RANDOM
@given(st.lists(st.sampled_from(MAIL_TOKENS) | st.binary(max_size=40), max_size=60))
def test_mail_shaped_noise(pieces: list[bytes]) -> None:
    """Scenario: random sequences of bounce headers, boundaries and junk never break parse()."""
    _assert_result(parse(b"".join(pieces)))


@MUTATIONS
@given(st.sampled_from(FIXTURE_BYTES), st.floats(min_value=0.0, max_value=1.0))
def test_truncated_fixture(raw: bytes, fraction: float) -> None:
    """Scenario: a real returned message cut off at a random point still parses."""
    cut = raw[: int(len(raw) * fraction)]
    result = parse(cut)
    _assert_result(result)
    if not cut.strip():
        assert result.kind is MessageKind.UNKNOWN


@MUTATIONS
@given(st.sampled_from(FIXTURE_BYTES), st.data())
def test_mutated_fixture(raw: bytes, data: st.DataObject) -> None:
    """Scenario: bytes replaced, inserted or deleted at random in a real message break nothing."""
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(min_value=1, max_value=12), label="edits")):
        op = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="op")
        pos = data.draw(st.integers(min_value=0, max_value=max(len(buf) - 1, 0)), label="pos")
        if op == "insert" or not buf:
            chunk = data.draw(st.sampled_from(MAIL_TOKENS) | st.binary(min_size=1, max_size=8))
            buf[pos:pos] = chunk
        elif op == "replace":
            buf[pos] = data.draw(st.integers(min_value=0, max_value=255), label="byte")
        else:
            del buf[pos : pos + data.draw(st.integers(min_value=1, max_value=64), label="n")]
    _assert_result(parse(bytes(buf)))


@pytest.mark.slow
def test_fifty_megabyte_bounce() -> None:
    """Scenario: a 50 MB bounce (the original carried a big attachment) parses and is classified."""
    attachment = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 150_000)
    attachment = attachment * (50_000_000 // len(attachment) + 1)
    head = b"""Return-Path: <>
From: MAILER-DAEMON@smtp-out.example.com (Mail Delivery System)
To: bounces@example.com
Subject: Undelivered Mail Returned to Sender
Date: Tue, 12 Nov 2024 09:15:03 +0000
Message-Id: <big-bounce@smtp-out.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BIG"

--BIG
Content-Type: text/plain; charset=us-ascii

<big@example.net>: host mx.example.net[192.0.2.25] said: 552 5.3.4 Message size
    exceeds fixed maximum message size (in reply to end of DATA command)

--BIG
Content-Type: message/delivery-status

Reporting-MTA: dns; smtp-out.example.com

Final-Recipient: rfc822; big@example.net
Action: failed
Status: 5.3.4
Diagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed maximum message size

--BIG
Content-Type: message/rfc822

From: Example News <news@example.com>
To: big@example.net
Subject: The annual report
Message-ID: <annual-report@app01.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="INNER"

--INNER
Content-Type: text/plain

See the attachment.

--INNER
Content-Type: image/png; name="report.png"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.png"

"""
    raw = b"".join((head, attachment, b"\n--INNER--\n\n--BIG--\n"))
    del attachment  # one 50 MB copy at a time is enough
    assert len(raw) >= 50_000_000
    result = parse(raw)
    _assert_result(result)
    assert [d.recipient for d in result.deliveries] == ["big@example.net"]
    assert result.deliveries[0].verdict is not None
    assert result.deliveries[0].verdict.reason.value == "mesgtoobig"
