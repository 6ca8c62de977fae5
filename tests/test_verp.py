"""Signed VERP tokens: encode, verify, and finding them in a bounce."""

from __future__ import annotations

from returnpath.model import VerpState
from returnpath.parsers import ParseOptions, parse
from returnpath.parsers.verp import encode, verify

KEY = b"test-secret-key"


def test_round_trip():
    """Scenario: an encoded address verifies and gives back the recipient as written."""
    address = encode("Jane.Doe@Example.com", KEY, domain="bounces.example.net")
    assert address.startswith("bounces+") and address.endswith("@bounces.example.net")
    token = verify(address, KEY)
    assert token.state is VerpState.VALID
    assert token.recipient == "Jane.Doe@Example.com"
    assert token.campaign is None


def test_campaign_round_trip():
    """Scenario: a campaign id travels in the token and comes back on verify."""
    address = encode("user@example.com", KEY, campaign="spring-2026", domain="example.net")
    token = verify(address, KEY)
    assert (token.state, token.recipient, token.campaign) == (
        VerpState.VALID,
        "user@example.com",
        "spring-2026",
    )


def test_case_folded_token_still_valid():
    """Scenario: a mail system that upper- or lower-cases the local part does not break it."""
    address = encode("user@example.com", KEY, domain="example.net")
    assert verify(address.upper(), KEY).state is VerpState.VALID
    assert verify(address.lower(), KEY).recipient == "user@example.com"


def test_tampered_token_invalid():
    """Scenario: changing one letter of the payload makes the token invalid."""
    address = encode("user@example.com", KEY, domain="example.net")
    local, domain = address.split("@")
    prefix, token = local.split("+")
    payload, mac = token.split("-")
    flipped = ("b" if payload[0] != "b" else "c") + payload[1:]
    assert verify(f"{prefix}+{flipped}-{mac}@{domain}", KEY).state is VerpState.INVALID


def test_wrong_key_invalid():
    """Scenario: a token signed with another key does not verify."""
    address = encode("user@example.com", b"other-key", domain="example.net")
    assert verify(address, KEY).state is VerpState.INVALID


def test_absent_without_token_or_key():
    """Scenario: a plain address has no token; without a key nothing counts as present."""
    assert verify("bounces@example.net", KEY).state is VerpState.ABSENT
    assert verify("bounces+someone@example.net", KEY).state is VerpState.ABSENT
    address = encode("user@example.com", KEY, domain="example.net")
    assert verify(address, None).state is VerpState.ABSENT


BOUNCE = """\
Delivered-To: {to}
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: {to}
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain

This is the mail system at host mx.example.org.

<somebody@example.org>: host mx.example.org said: 550 5.1.1 User unknown
"""


def test_parse_prefers_verified_token_recipient():
    """Scenario: a bounce to a signed VERP address is attributed to the token's recipient."""
    to = encode("real@example.com", KEY, campaign="c1", domain="bounces.example.net")
    result = parse(BOUNCE.format(to=to).encode(), ParseOptions(verp_secret=KEY))
    assert result.verp is VerpState.VALID
    assert result.verp_recipient == "real@example.com"
    assert result.verp_campaign == "c1"
    assert [d.recipient for d in result.deliveries] == ["real@example.com"]


def test_parse_reports_forged_token_invalid():
    """Scenario: a token signed with another key is reported invalid and names no one."""
    to = encode("real@example.com", b"forger", domain="bounces.example.net")
    result = parse(BOUNCE.format(to=to).encode(), ParseOptions(verp_secret=KEY))
    assert result.verp is VerpState.INVALID
    assert result.verp_recipient is None


def test_auto_reply_to_signed_return_path_names_the_token_recipient():
    """Scenario: a vacation reply from an alias, sent to the VERP address, names the contact."""
    to = encode("contact@example.com", KEY, domain="bounces.example.net")
    raw = (
        f"From: Alias <alias@example.com>\nTo: {to}\nSubject: Out of Office: News\n"
        "Auto-Submitted: auto-replied\n\nAway.\n"
    ).encode()
    result = parse(raw, ParseOptions(verp_secret=KEY))
    assert [d.recipient for d in result.deliveries] == ["contact@example.com"]
    assert result.verp is VerpState.VALID
