"""Data-driven: every fixtures/**/*.eml through parse(), compared with its .json.

Each fixture runs three times: as written (LF), with CRLF line endings (as mail arrives over
SMTP and IMAP) and with CR-only line endings (old Mac mailboxes). Test ids are the fixture
paths, so a failure names the file to open. The expectation format is in fixtures/README.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from returnpath.model import Category, Delivery, MessageKind, ParseResult
from returnpath.parsers.parse import ParseOptions, parse
from test_fixture_set import Fixture, load_fixtures

LINE_ENDINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


def with_line_endings(raw: bytes, newline: bytes) -> bytes:
    """The same message with every LF replaced by `newline` (the fixtures are LF files)."""
    return raw.replace(b"\n", newline)


def _bare_id(value: str | None) -> str | None:
    return value.strip().strip("<>").strip() if value else value


def _delivery_fields(delivery: Delivery, result: ParseResult) -> dict[str, Any]:
    """One delivery as the §6 jsonl record would show it, for the keys a fixture may name."""
    verdict = delivery.verdict
    return {
        "category": verdict.category.value if verdict else None,
        "reason": verdict.reason.value if verdict else None,
        "status": delivery.status,
        "reply_code": delivery.reply_code,
        "action": delivery.action.value,
        "remote_mta": delivery.remote_mta,
        "feedback_type": delivery.feedback_type,
        "original_message_id": _bare_id(delivery.original_message_id or result.original_message_id),
    }


def mismatches(result: ParseResult, expected: dict[str, Any]) -> list[str]:
    """Every way `result` differs from the expectation; empty when it matches."""
    problems: list[str] = []
    if result.kind.value != expected["kind"]:
        problems.append(f"kind: expected {expected['kind']!r}, got {result.kind.value!r}")
    if expected["kind"] != MessageKind.UNKNOWN.value and result.format != expected["format"]:
        problems.append(f"format: expected {expected['format']!r}, got {result.format!r}")
    if bool(result.defects) != expected["defects"]:
        problems.append(f"defects: expected {expected['defects']}, got {list(result.defects)}")
    for key in ("original_message_id", "verp_recipient", "verp_campaign"):
        if key in expected:
            got = getattr(result, key)
            got = _bare_id(got) if key == "original_message_id" else got
            if got != expected[key]:
                problems.append(f"{key}: expected {expected[key]!r}, got {got!r}")
    if "verp" in expected and result.verp.value != expected["verp"]:
        problems.append(f"verp: expected {expected['verp']!r}, got {result.verp.value!r}")
    if "original_headers" in expected:
        got_headers = dict(result.original_headers)
        for name, value in expected["original_headers"].items():
            if got_headers.get(name) != value:
                problems.append(
                    f"original header {name}: expected {value!r}, got {got_headers.get(name)!r}"
                )

    # Deliveries that say something; an unrecognised one may be kept as category unknown.
    recognised = [
        d
        for d in result.deliveries
        if d.verdict is None or d.verdict.category is not Category.UNKNOWN
    ]
    by_recipient: dict[str | None, Delivery] = {}
    for d in recognised:
        key = d.recipient.lower() if d.recipient else None
        if key in by_recipient:
            problems.append(f"recipient {key!r} reported twice")
        by_recipient[key] = d
    wanted = {r["recipient"]: r for r in expected["results"]}
    for extra in sorted(set(by_recipient) - set(wanted), key=str):
        d = by_recipient[extra]
        problems.append(
            f"unexpected recipient {extra!r} ({d.verdict.category if d.verdict else 'no verdict'})"
        )
    for recipient, want in wanted.items():
        got = by_recipient.get(recipient)
        if got is None:
            problems.append(f"missing recipient {recipient!r}")
            continue
        if got.verdict is None or not got.verdict.rule:
            problems.append(f"{recipient}: the verdict names no rule")
        fields = _delivery_fields(got, result)
        for key, value in want.items():
            if key == "recipient":
                continue
            if key == "diagnostic_contains":
                if value.casefold() not in (got.diagnostic or "").casefold():
                    problems.append(f"{recipient}: diagnostic {got.diagnostic!r} lacks {value!r}")
            elif fields[key] != value:
                problems.append(f"{recipient}: {key}: expected {value!r}, got {fields[key]!r}")
    return problems


def _options(expected: dict[str, Any]) -> ParseOptions | None:
    secret = expected.get("verp_secret")
    return ParseOptions(verp_secret=secret.encode()) if secret else None


CASES = [
    pytest.param(fixture, ending, id=f"{fixture.id}[{ending}]")
    for fixture in load_fixtures()
    for ending in LINE_ENDINGS
]


@pytest.mark.parametrize(("fixture", "ending"), CASES)
def test_fixture(fixture: Fixture, ending: str) -> None:
    """Scenario: parse() says what the fixture's mail means, whatever its line endings."""
    raw = with_line_endings(fixture.eml.read_bytes(), LINE_ENDINGS[ending])
    result = parse(raw, _options(fixture.expected))
    problems = mismatches(result, fixture.expected)
    assert not problems, f"{fixture.id} [{ending}]:\n  " + "\n  ".join(problems)


def test_mismatch_check_catches_a_wrong_verdict() -> None:
    """Scenario: the comparison fails when a verdict, recipient or kind differs."""
    fixture = next(f for f in load_fixtures() if f.id == "postfix/dsn-userunknown.eml")
    result = parse(fixture.eml.read_bytes())
    assert mismatches(result, fixture.expected) == []
    wrong_reason = {
        **fixture.expected,
        "results": [{**fixture.expected["results"][0], "reason": "mailboxfull"}],
    }
    assert mismatches(result, wrong_reason)
    wrong_recipient = {
        **fixture.expected,
        "results": [{**fixture.expected["results"][0], "recipient": "someone.else@example.net"}],
    }
    assert len(mismatches(result, wrong_recipient)) == 2  # one missing, one unexpected
    assert mismatches(result, {**fixture.expected, "kind": "auto_reply"})
