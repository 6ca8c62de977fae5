"""Delivery-status parts and bounce texts sent with a transfer encoding read as unencoded ones.

MTAs (Exchange among them) declare `Content-Transfer-Encoding: quoted-printable` or `base64`
(rarely `x-uuencode`) on the message/delivery-status part: quoted-printable's soft line breaks
("=" at a line end) then cut field values anywhere, even in front of a ':', and "=3D" stands
for "=". Every fixture with an unencoded status part is encoded each way here and must give
the same deliveries; so is the body of every single-part text bounce, with the CRLF line
endings its MTA encodes.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from pathlib import Path

import pytest

from returnpath.model import ParseResult
from returnpath.parsers.parse import parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_STATUS_HEAD = re.compile(
    rb"(?im)^content-type:[ \t]*message/(?:global-)?delivery-status\b[^\n]*\n(?:[^\n]+\n)*?\n"
)


def encode_status_part(raw: bytes, encoding: str) -> bytes | None:
    """The message with its first delivery-status part's body encoded and declared so; None
    when the message has no such part or the part already declares an encoding."""
    m = _STATUS_HEAD.search(raw)
    if m is None:
        return None
    boundary_at = raw.rfind(b"\n--", 0, m.start())
    if boundary_at < 0:
        return None
    heads_at = raw.index(b"\n", boundary_at + 1) + 1
    boundary = raw[boundary_at + 1 : heads_at].strip()
    heads = raw[heads_at : m.end()]
    if re.search(rb"(?im)^content-transfer-encoding:", heads):
        return None
    end = raw.find(b"\n" + boundary, m.end())
    if end < 0:
        return None
    body = raw[m.end() : end + 1]
    if encoding == "quoted-printable":
        encoded = quopri.encodestring(body)
    elif encoding == "x-uuencode":
        lines = [binascii.b2a_uu(body[i : i + 45]) for i in range(0, len(body), 45)]
        encoded = b"begin 644 status\n" + b"".join(lines) + b"`\nend\n"
    else:
        encoded = base64.encodebytes(body)
    declared = heads[:-1] + b"Content-Transfer-Encoding: " + encoding.encode() + b"\n\n"
    return raw[:heads_at] + declared + encoded + raw[end + 1 :]


def _summary(result: ParseResult) -> list[tuple[object, ...]]:
    return [
        (
            d.recipient,
            d.action,
            d.status,
            d.reply_code,
            d.remote_mta,
            # a soft line break keeps no record of the blanks after a ':' it cut before
            " ".join((d.diagnostic or "").replace(": ", ":").split()),
            d.verdict,
        )
        for d in result.deliveries
    ]


_CASES = [
    p
    for p in sorted(FIXTURES.rglob("*.eml"))
    if encode_status_part(p.read_bytes(), "base64") is not None
]


def test_there_are_fixtures_to_encode() -> None:
    """Scenario: the fixture set holds enough plain delivery-status parts to test against."""
    assert len(_CASES) >= 40


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", "x-uuencode"])
@pytest.mark.parametrize("path", _CASES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_encoded_status_part_reads_as_plain(path: Path, encoding: str) -> None:
    """Scenario: a fixture's delivery-status part, encoded, yields the same deliveries,
    verdicts, message kind and format as when sent plain."""
    raw = path.read_bytes()
    encoded = encode_status_part(raw, encoding)
    assert encoded is not None and encoded != raw
    plain, decoded = parse(raw), parse(encoded)
    assert (decoded.kind, decoded.format) == (plain.kind, plain.format)
    assert decoded.original_message_id == plain.original_message_id
    assert _summary(decoded) == _summary(plain)


_QP_REPORT = b"""From: MAILER-DAEMON@mx.example.org
To: bounces@example.com
Subject: Undeliverable: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Delivery has failed.

--b1
Content-Type: message/delivery-status
Content-Transfer-Encoding: quoted-printable

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; ana=3Dlopez@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <ana=3Dlopez@example.org>: Recipient address rejected=
: User unknown in virtual mailbox table (see https://help.example.org/?code=3D=
511)

--b1--
"""


def test_quoted_printable_fields_are_decoded() -> None:
    """Scenario: "=3D" in an address and a diagnostic cut by soft line breaks (one right
    before a ':') are read as the MTA wrote them, with no damage reported."""
    result = parse(_QP_REPORT)
    assert result.defects == ()
    [delivery] = result.deliveries
    assert delivery.recipient == "ana=lopez@example.org"
    assert delivery.diagnostic == (
        "550 5.1.1 <ana=lopez@example.org>: Recipient address rejected: User unknown in"
        " virtual mailbox table (see https://help.example.org/?code=511)"
    )
    assert delivery.verdict is not None
    assert (delivery.verdict.category.value, delivery.verdict.reason.value) == (
        "hard",
        "userunknown",
    )


def encode_single_body(raw: bytes, encoding: str) -> bytes | None:
    """A single-part message with its body encoded as its sender's MTA would encode it (CRLF
    line endings inside the encoding); None for multipart or already encoded messages."""
    head, sep, body = raw.partition(b"\n\n")
    if not sep or re.search(rb"(?im)^content-(?:type:[ \t]*multipart|transfer-encoding:)", head):
        return None
    crlf = body.replace(b"\n", b"\r\n")
    if encoding == "quoted-printable":
        encoded = quopri.encodestring(crlf)
    else:
        encoded = base64.encodebytes(crlf)
    declared = head + b"\nContent-Transfer-Encoding: " + encoding.encode()
    return declared + b"\n\n" + encoded


_SINGLE = [
    p
    for p in sorted(FIXTURES.rglob("*.eml"))
    if encode_single_body(p.read_bytes(), "base64") is not None and parse(p.read_bytes()).deliveries
]


def test_there_are_plain_text_bounces_to_encode() -> None:
    """Scenario: the fixture set holds enough single-part text bounces to test against."""
    assert len(_SINGLE) >= 20


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64"])
@pytest.mark.parametrize("path", _SINGLE, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_encoded_text_bounce_reads_as_plain(path: Path, encoding: str) -> None:
    """Scenario: a plain-text bounce whose body its MTA encoded (CRLF inside the encoding)
    yields the same deliveries and verdicts as when sent plain."""
    raw = path.read_bytes()
    encoded = encode_single_body(raw, encoding)
    assert encoded is not None
    plain, decoded = parse(raw), parse(encoded)
    assert (decoded.kind, decoded.format) == (plain.kind, plain.format)
    assert _summary(decoded) == _summary(plain)
