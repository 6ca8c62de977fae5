"""parse() end to end on hand-written DSN, ARF and auto-reply messages, and damaged input."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returnpath.model import Action, Category, MessageKind, Reason
from returnpath.parsers import ParseOptions, parse
from returnpath.parsers.formats._text import unfold
from returnpath.parsers.message import decode_header_value

DSN = b"""\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.net>
Date: Mon, 02 Mar 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

<gone@Example.ORG>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <gone@example.org>:
    Recipient address rejected: User unknown in virtual mailbox table (in reply to
    RCPT TO command)

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; <gone@Example.ORG>
Original-Recipient: rfc822;gone@Example.ORG
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected:
    User unknown in virtual mailbox table

Final-Recipient: rfc822; full@example.org
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full

--B
Content-Type: message/rfc822

Message-ID: <original-1@example.com>
X-Campaign-ID: spring
From: sender@example.com
To: gone@example.org
Subject: Hello

Hi
--B--
"""


def test_dsn_per_recipient_blocks():
    """Scenario: a two-recipient DSN yields a hard bounce and a deferral with their facts."""
    result = parse(DSN)
    assert result.kind is MessageKind.DSN
    assert result.format == "dsn"
    first, second = result.deliveries
    assert first.recipient == "gone@example.org"
    assert (first.action, first.status, first.reply_code) == (Action.FAILED, "5.1.1", "550")
    assert first.remote_mta == "mx.example.org"
    assert first.smtp_command == "RCPT"
    assert first.verdict is not None and first.verdict.category is Category.HARD
    assert second.verdict is not None
    assert (second.verdict.category, second.verdict.reason) == (
        Category.DEFERRAL,
        Reason.MAILBOX_FULL,
    )
    assert result.original_message_id == "<original-1@example.com>"
    assert first.original_message_id == "<original-1@example.com>"
    assert ("x-campaign-id", "spring") in result.original_headers
    assert result.message_id == "<bounce-1@mx.example.net>"
    assert result.date is not None and result.date.year == 2026


def test_line_endings_do_not_matter():
    """Scenario: the same DSN with CRLF and with CR-only line endings parses the same."""
    base = parse(DSN)
    for variant in (DSN.replace(b"\n", b"\r\n"), DSN.replace(b"\n", b"\r")):
        other = parse(variant)
        assert [(d.recipient, d.verdict) for d in other.deliveries] == [
            (d.recipient, d.verdict) for d in base.deliveries
        ]


ARF = b"""\
From: feedback@isp.example
To: abuse@example.com
Subject: Complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="A"

--A
Content-Type: text/plain

This is an email abuse report.
--A
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <Complainer@ISP.example>

--A
Content-Type: message/rfc822

Message-ID: <orig-2@example.com>
From: news@example.com
To: complainer@isp.example
Subject: News

Body
--A--
"""


def test_arf_complaint():
    """Scenario: an ARF abuse report is a complaint about Original-Rcpt-To, domain lower-cased."""
    result = parse(ARF)
    assert result.kind is MessageKind.FEEDBACK
    (d,) = result.deliveries
    assert d.recipient == "Complainer@isp.example"
    assert d.feedback_type == "abuse"
    assert d.verdict is not None and d.verdict.category is Category.COMPLAINT
    assert result.original_message_id == "<orig-2@example.com>"


def _reply(subject: str, extra: str = "", sender: str = "Ana <ana@example.org>") -> bytes:
    return (
        f"From: {sender}\nTo: news@example.com\nSubject: {subject}\n{extra}"
        "Content-Type: text/plain; charset=utf-8\n\nI am away.\n"
    ).encode()


def test_auto_reply_by_header_and_by_subject_in_languages():
    """Scenario: RFC 3834 headers and out-of-office subjects in eight languages are auto-replies."""
    samples = [
        _reply("Re: News", "Auto-Submitted: auto-replied\n"),
        _reply("Re: News", "X-Autoreply: yes\n"),
        _reply("Out of Office: News"),
        _reply("Abwesenheitsnotiz: News"),
        _reply("Réponse automatique : News"),
        _reply("Respuesta automática: News"),
        _reply("Risposta automatica: News"),
        _reply("Resposta automática: News"),
        _reply("Automatisch antwoord: News"),
        _reply("=?UTF-8?B?6Ieq5YuV5b+c562U?=: News"),  # 自動応答
    ]
    for raw in samples:
        result = parse(raw)
        assert result.kind is MessageKind.AUTO_REPLY, raw
        (d,) = result.deliveries
        assert d.recipient == "ana@example.org"
        assert d.verdict is not None and d.verdict.category is Category.AUTO_REPLY


def test_mailer_daemon_is_never_an_auto_reply():
    """Scenario: an Exim bounce marked Auto-Submitted: auto-replied is not an auto-reply."""
    raw = _reply(
        "Mail delivery failed: returning message to sender",
        "Auto-Submitted: auto-replied\nX-Failed-Recipients: gone@example.net\n",
        sender="Mail Delivery System <Mailer-Daemon@mx.example.org>",
    )
    result = parse(raw)
    assert result.kind is not MessageKind.AUTO_REPLY
    assert all(
        d.verdict is None or d.verdict.category is not Category.AUTO_REPLY
        for d in result.deliveries
    )


def test_empty_and_garbage_input_are_unknown_with_defects():
    """Scenario: empty input and non-mail bytes give UNKNOWN, never an exception."""
    empty = parse(b"")
    assert empty.kind is MessageKind.UNKNOWN and "EmptyMessage" in empty.defects
    assert parse(b"\x00\xff\xfe garbage \r\r\n--").kind is MessageKind.UNKNOWN


def test_wrong_input_type_is_a_defect_not_an_exception():
    """Scenario: parse() given text instead of bytes reports a ParserError defect."""
    result = parse("not bytes")  # type: ignore[arg-type]
    assert result.kind is MessageKind.UNKNOWN
    assert result.defects and result.defects[0].startswith("ParserError: TypeError")


def test_broken_mime_and_unknown_charset():
    """Scenario: a report with no closing boundary and a bogus charset still yields its facts."""
    raw = DSN.replace(b"--B--\n", b"").replace(
        b"Content-Type: text/plain\n", b"Content-Type: text/plain; charset=x-no-such\n"
    )
    result = parse(raw)
    assert [d.recipient for d in result.deliveries][:1] == ["gone@example.org"]


def test_large_message_is_bounded():
    """Scenario: a 5 MB non-bounce message parses to UNKNOWN (and flufl.bounce is not run)."""
    body = b"x" * 76 + b"\n"
    raw = b"From: a@example.com\nSubject: big\nContent-Type: text/plain\n\n" + body * 70000
    result = parse(raw, ParseOptions())
    assert result.kind is MessageKind.UNKNOWN


JMRP = b"""\
From: staff@hotmail.com
To: abuse-report@example.com
Subject: complaint about message from 192.0.2.222
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="J"

--J
Content-Type: message/rfc822
Content-Disposition: inline

X-HmXmrOriginalRecipient: reader@example.com
To: reader@example.com
From: News <news@example.net>
Subject: News
Message-ID: <orig-3@example.net>

Hello
--J--
"""


def test_microsoft_junk_mail_report_is_complaint():
    """Scenario: a Hotmail/Outlook.com junk report (no ARF part) is an abuse complaint."""
    result = parse(JMRP)
    assert result.kind is MessageKind.FEEDBACK
    (d,) = result.deliveries
    assert (d.recipient, d.feedback_type) == ("reader@example.com", "abuse")
    assert d.verdict is not None and d.verdict.category is Category.COMPLAINT


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_parse_never_raises_on_arbitrary_bytes(raw):
    """Scenario: any bytes at all give a ParseResult, never an exception."""
    result = parse(raw)
    assert isinstance(result.kind, MessageKind)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(DSN)), st.binary(max_size=64), st.booleans())
def test_parse_never_raises_on_damaged_dsn(cut, junk, truncate):
    """Scenario: a real-shaped DSN truncated or with bytes spliced in still parses."""
    raw = DSN[:cut] if truncate else DSN[:cut] + junk + DSN[cut:]
    result = parse(raw)
    assert all(d.verdict is not None for d in result.deliveries)


GLOBAL_DSN = """\
From: MAILER-DAEMON@example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=global-delivery-status; boundary="G"

--G
Content-Type: message/global-delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: utf-8; δοκιμή@ΠΑΡΆΔΕΙΓΜΑ.example
Action: failed
Status: 5.1.1

--G--
""".encode()


def test_utf8_recipient_of_a_global_dsn():
    """Scenario: an RFC 6533 report keeps the UTF-8 address intact, domain lower-cased."""
    (d,) = parse(GLOBAL_DSN).deliveries
    assert d.recipient == "δοκιμή@παράδειγμα.example"
    assert d.verdict is not None and d.verdict.category is Category.HARD


def test_flufl_fallback_is_gated():
    """Scenario: flufl.bounce runs on small bounce-looking mail only, never on big or plain mail."""
    from returnpath.parsers.formats import fallback
    from returnpath.parsers.message import Message

    bounce_head = b"From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n\n"
    plain_head = b"From: friend@example.org\nSubject: lunch?\n\n"
    small, big = b"<a@example.com>: no.\n", b"x" * (fallback.FLUFL_MAX_BYTES + 1)
    assert fallback.gate(Message(bounce_head + small))
    assert not fallback.gate(Message(plain_head + small))
    assert not fallback.gate(Message(bounce_head + big))


def test_x_failed_recipients_alone_is_a_bounce():
    """Scenario: a home-grown bounce naming its recipient only in X-Failed-Recipients is found."""
    raw = (
        b"From: Mail Delivery System <mailer-daemon@relay.example.net>\n"
        b"Subject: Undeliverable: News\nX-Failed-Recipients: Gone@Example.NET\n\n"
        b"Your message could not be delivered.\n\n550 5.1.1 mailbox does not exist\n"
    )
    result = parse(raw)
    assert [d.recipient for d in result.deliveries] == ["Gone@example.net"]
    assert result.kind is MessageKind.BOUNCE


def test_auto_reply_to_a_message_about_failed_delivery_is_still_an_auto_reply():
    """Scenario: "Automatic reply: Delivery failed: your parcel" is an auto-reply, not a bounce."""
    result = parse(_reply("Automatic reply: Delivery failed: your parcel is waiting"))
    assert result.kind is MessageKind.AUTO_REPLY


def test_arf_with_several_addressees_names_no_one():
    """Scenario: a report without Original-Rcpt-To about mail to two people unsubscribes no one."""
    raw = ARF.replace(b"Original-Rcpt-To: <Complainer@ISP.example>\n", b"").replace(
        b"To: complainer@isp.example\n", b"To: one@isp.example, two@isp.example\n"
    )
    result = parse(raw)
    assert result.kind is MessageKind.FEEDBACK
    assert [d.recipient for d in result.deliveries] == [None]


def test_feedback_report_with_fields_in_text_plain():
    """Scenario: a feedback report whose Feedback-Type fields come as text/plain is a complaint."""
    raw = ARF.replace(b"Content-Type: message/feedback-report\n", b"Content-Type: text/plain\n")
    result = parse(raw)
    assert result.kind is MessageKind.FEEDBACK
    assert [(d.recipient, d.feedback_type) for d in result.deliveries] == [
        ("Complainer@isp.example", "abuse")
    ]


def test_utf8_text_under_a_seven_bit_label_is_read_as_utf8():
    """Scenario: a notice labelled charset=ISO-2022-JP whose bytes are really UTF-8 (a
    converted copy) gives its Japanese diagnostic readable, not replacement characters."""
    raw = (
        "From: MAILER-DAEMON@example.org\n"
        "Subject: Undeliverable Mail\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="ISO-2022-JP"\n'
        "Content-Transfer-Encoding: 8bit\n\n"
        "user@example.net: 550 メールボックスが一杯です\n"
    ).encode()
    result = parse(raw)
    (only,) = result.deliveries
    assert only.diagnostic is not None and "メールボックスが一杯です" in only.diagnostic
    assert only.verdict is not None and only.verdict.reason is Reason.MAILBOX_FULL


def test_dsn_text_that_only_lists_the_address_is_no_diagnostic():
    """Scenario: a delay DSN with no Diagnostic-Code whose text only lists the recipient
    gives no diagnostic (the address is not a reason); the status still decides."""
    raw = (
        b"From: postmaster@outlook.example.com\n"
        b"Subject: Delivery Status Notification (Delay)\n"
        b"MIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\n"
        b"Delivery to the following recipients has been delayed.\n\n"
        b"       user@example.net\n\n"
        b"--B\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns;mx.outlook.example.com\n\n"
        b"Final-Recipient: rfc822;user@example.net\nAction: delayed\nStatus: 4.4.7\n\n"
        b"--B--\n"
    )
    (only,) = parse(raw).deliveries
    assert only.recipient == "user@example.net"
    assert not only.diagnostic
    assert only.verdict is not None
    assert (only.verdict.category, only.verdict.reason) == (Category.DEFERRAL, Reason.EXPIRED)


TEXT_BOUNCE = """\
From: MAILER-DAEMON@mx.example.net
Subject: failure notice
Content-Type: text/plain; charset=utf-8

Sorry, we were not able to deliver your message to <gone@example.org>.
550 5.1.1 user unknown

--- Below this line is a copy of the message.

To: gone@example.org
x-campaign-id: autumn
{other}: c-42
Subject: {subject}
"""


def test_text_bounce_quoting_correlation_headers():
    """Scenario: a plain-text bounce quotes the original's correlation headers, in any case,
    in ASCII or UTF-8 text; a header it does not quote is not found."""
    for subject, other in (("hello", "X-CONTACT-ID"), ("grüße", "X-Contact-Id")):
        raw = TEXT_BOUNCE.format(subject=subject, other=other).encode("utf-8")
        result = parse(raw)
        assert result.deliveries and result.deliveries[0].recipient == "gone@example.org"
        assert result.original_headers == (("x-campaign-id", "autumn"), ("x-contact-id", "c-42"))
        options = ParseOptions(correlation_headers=("X-Campaign-ID", "X-Batch"))
        assert parse(raw, options).original_headers == (("x-campaign-id", "autumn"),)


def test_header_values_collapse_every_whitespace_run():
    """Scenario: header values and unfolded text collapse each run of any whitespace (tabs,
    line breaks, no-break and ideographic spaces, separators) to one space, as \\s+ would."""
    whitespace = [chr(c) for c in range(0x3001) if re.fullmatch(r"\s", chr(c))] + ["\u3000"]
    assert "\xa0" in whitespace and "\x1c" in whitespace and "\u2028" in whitespace
    for space in whitespace:
        value = f"{space} Undelivered{space}{space}Mail \t{space}\n returned{space}"
        expected = re.sub(r"\s+", " ", value).strip()
        assert expected == "Undelivered Mail returned"
        assert decode_header_value(value) == expected
        assert unfold(value) == expected
