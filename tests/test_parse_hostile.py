"""Hostile input: work per message stays bounded however many addresses a notice lists."""

from returnpath.parsers import parse
from returnpath.parsers.formats import textbounce

HEAD = b"From: MAILER-DAEMON@example.org\nSubject: Undelivered Mail Returned to Sender\n\n"


def test_text_bounce_stops_after_its_candidate_limit() -> None:
    """Scenario: a notice naming 5,000 distinct addresses is read up to the candidate limit only."""
    body = b"".join(b"user%d@example.net: 550 5.1.1 unknown\n" % i for i in range(5000))
    result = parse(HEAD + body)
    assert result.format == "textbounce"
    assert 0 < len(result.deliveries) <= textbounce.MAX_CANDIDATES


def test_one_enormous_line_of_addresses_is_cut() -> None:
    """Scenario: 40,000 '@' glued into one line are read only up to the line limit."""
    result = parse(HEAD + b"aaaa.bbbb@" * 40000)
    assert len(result.deliveries) <= 1


def test_broken_encoded_word_in_subject_does_not_lose_the_bounce() -> None:
    """Scenario: a Subject with a broken base64 encoded word ("=?utf-8?b?QUJDx?=") is kept as
    written and the bounce below it is still read."""
    raw = (
        b"From: MAILER-DAEMON@example.org\nSubject: =?utf-8?b?QUJDx?= Undelivered Mail\n\n"
        b"user@example.net: 550 5.1.1 <user@example.net>: Recipient address rejected: "
        b"User unknown\n"
    )
    result = parse(raw)
    assert not any(d.startswith("ParserError") for d in result.defects)
    assert result.subject is not None and "QUJDx" in result.subject
    assert [d.recipient for d in result.deliveries] == ["user@example.net"]
