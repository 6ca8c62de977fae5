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
