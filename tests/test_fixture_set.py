"""The fixture set itself: every file paired, every expectation well-formed, everything covered.

The expectation format (fixtures/README.md) is defined here once; test_fixtures.py loads the
fixtures through `load_fixtures()` so that both files read them the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from returnpath.model import REASON_CATEGORY, Action, Category, MessageKind, Reason, VerpState
from returnpath.parsers.formats import FORMATS

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"

#: Auto-reply languages the set must cover (ISO 639-1), one fixture at least each; fixtures
#: in other languages are welcome.
AUTO_REPLY_LANGUAGES = frozenset({"en", "de", "fr", "es", "it", "pt", "nl", "ja", "ru", "zh"})

#: Top-level keys of an expectation: required ones, then optional ones.
REQUIRED_KEYS = frozenset({"description", "kind", "format", "defects", "results"})
OPTIONAL_KEYS = frozenset(
    {
        "language",  # auto-replies only: the language of the reply
        "original_message_id",  # Message-ID of the returned original, without <>
        "original_headers",  # {lower-cased correlation header: value}, a subset must match
        "verp",  # VerpState value
        "verp_recipient",
        "verp_campaign",
        "verp_secret",  # the key parse() is given to check tokens (ParseOptions.verp_secret)
    }
)
#: Keys of one expected result; all but "recipient" are optional and compared when present.
RESULT_KEYS = frozenset(
    {
        "recipient",
        "category",
        "reason",
        "status",
        "reply_code",
        "action",
        "remote_mta",
        "feedback_type",
        "original_message_id",
        "diagnostic_contains",  # a case-insensitive substring of the delivery's diagnostic
    }
)


@dataclass(frozen=True)
class Fixture:
    """One .eml and its parsed .json expectation."""

    eml: Path
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return self.eml.relative_to(FIXTURES_DIR).as_posix()


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES_DIR.rglob("*.eml"))


def load_fixtures() -> list[Fixture]:
    """Every fixture that has its .json (pairing is checked by test_every_eml_has_its_json)."""
    return [
        Fixture(p, json.loads(p.with_suffix(".json").read_text(encoding="utf-8")))
        for p in fixture_paths()
        if p.with_suffix(".json").exists()
    ]


def shape_problems(doc: dict[str, Any]) -> list[str]:
    """Everything wrong with one expectation's shape; empty when it is well-formed."""
    problems: list[str] = []
    keys = set(doc)
    problems += [f"missing key {k!r}" for k in sorted(REQUIRED_KEYS - keys)]
    problems += [f"unknown key {k!r}" for k in sorted(keys - REQUIRED_KEYS - OPTIONAL_KEYS)]
    kinds = {k.value for k in MessageKind}
    if doc.get("kind") not in kinds:
        problems.append(f"kind {doc.get('kind')!r} is not one of {sorted(kinds)}")
    if not isinstance(doc.get("format"), str):
        problems.append("format must be a string")
    elif doc.get("kind") != "unknown" and not doc["format"]:
        problems.append("a recognised message must name the format module that reads it")
    if not isinstance(doc.get("defects"), bool):
        problems.append("defects must be true or false")
    if not isinstance(doc.get("description"), str) or not doc.get("description"):
        problems.append("description must be a non-empty string")
    if (doc.get("kind") == "auto_reply") != ("language" in doc):
        problems.append("language is required for auto-replies and only for them")
    language = doc.get("language")
    if "language" in doc and not (
        isinstance(language, str)
        and len(language) == 2
        and language.isascii()
        and language.isalpha()
        and language.islower()
    ):
        problems.append(f"language {language!r} is not an ISO 639-1 code")
    if "verp" in doc and doc["verp"] not in {v.value for v in VerpState}:
        problems.append(f"verp {doc['verp']!r} is not a VerpState value")
    if "original_headers" in doc and not isinstance(doc["original_headers"], dict):
        problems.append("original_headers must be an object")
    results = doc.get("results")
    if not isinstance(results, list):
        return [*problems, "results must be a list"]
    if doc.get("kind") == "unknown" and results:
        problems.append("an unknown message has no results")
    if doc.get("kind") not in (None, "unknown") and not results:
        problems.append("a recognised message has at least one result")
    recipients = [r.get("recipient") for r in results if isinstance(r, dict)]
    if len(recipients) != len(set(recipients)):
        problems.append("results are matched by recipient: each recipient once")
    for i, result in enumerate(results):
        problems += [f"results[{i}]: {p}" for p in _result_problems(result)]
    allowed = KIND_CATEGORIES.get(doc.get("kind"))
    for result in results:
        if allowed and isinstance(result, dict) and result.get("category") not in allowed:
            problems.append(f"a {doc['kind']} message cannot mean {result.get('category')!r}")
    return problems


#: The categories each kind of message can carry: an auto-reply is never a bounce, a bounce
#: never an auto-reply or a complaint.
KIND_CATEGORIES = {
    "auto_reply": {"auto_reply"},
    "feedback": {"complaint"},
    "dsn": {"hard", "soft", "block", "deferral", "delivered"},
    "bounce": {"hard", "soft", "block", "deferral", "delivered"},
}


def _result_problems(result: object) -> list[str]:
    if not isinstance(result, dict):
        return ["must be an object"]
    problems = [f"unknown key {k!r}" for k in sorted(set(result) - RESULT_KEYS)]
    recipient = result.get("recipient")
    if not isinstance(recipient, str) or "@" not in recipient or recipient != recipient.lower():
        problems.append(f"recipient {recipient!r} must be a lower-case address")
    if "category" not in result:
        problems.append("category is required")
    elif result["category"] not in {c.value for c in Category} - {"unknown"}:
        problems.append(f"category {result['category']!r} is not a recognised category")
    if "reason" in result and result["reason"] not in {r.value for r in Reason}:
        problems.append(f"reason {result['reason']!r} is not a Reason value")
    if "action" in result and result["action"] not in {a.value for a in Action}:
        problems.append(f"action {result['action']!r} is not an Action value")
    category, reason = result.get("category"), result.get("reason")
    if (
        category in {c.value for c in Category}
        and reason in {r.value for r in Reason}
        and category != Category.DEFERRAL.value  # a deferral keeps whatever reason it has
        and not (reason == Reason.NOT_ACCEPT.value and category == Category.SOFT.value)
        and REASON_CATEGORY[Reason(reason)].value != category
    ):
        problems.append(f"reason {reason!r} does not belong to category {category!r}")
    if category == Category.DEFERRAL.value and result.get("action", "delayed") != "delayed":
        problems.append("a deferral is a delayed action")
    return problems


# ----------------------------------------------------------------------------- the tests


def test_every_eml_has_its_json() -> None:
    """Scenario: an .eml without expectations would silently test nothing."""
    unpaired = [p for p in fixture_paths() if not p.with_suffix(".json").exists()]
    assert not unpaired, f"fixtures without a .json: {unpaired}"


def test_every_json_has_its_eml() -> None:
    """Scenario: an expectation whose message was moved or deleted is stale."""
    orphans = [p for p in FIXTURES_DIR.rglob("*.json") if not p.with_suffix(".eml").exists()]
    assert not orphans, f".json files without an .eml: {orphans}"


def test_fixture_set_is_not_empty() -> None:
    """Scenario: the data-driven tests run over a real set, not over nothing."""
    assert len(load_fixtures()) >= 60


@pytest.mark.parametrize("fixture", load_fixtures(), ids=lambda f: f.id)
def test_expectation_is_well_formed(fixture: Fixture) -> None:
    """Scenario: every .json follows the documented shape, with valid enum values."""
    problems = shape_problems(fixture.expected)
    assert not problems, f"{fixture.id}: " + "; ".join(problems)


def test_shape_check_rejects_bad_expectations() -> None:
    """Scenario: the shape check itself catches typos and contradictions."""
    good = {
        "description": "x",
        "kind": "dsn",
        "format": "dsn",
        "defects": False,
        "results": [{"recipient": "a@example.com", "category": "hard", "reason": "userunknown"}],
    }
    assert shape_problems(good) == []
    assert shape_problems({**good, "kind": "bounced"})
    assert shape_problems({**good, "colour": "red"})
    assert shape_problems({**good, "results": [{**good["results"][0], "reason": "deliverd"}]})
    assert shape_problems({**good, "results": [{**good["results"][0], "category": "soft"}]})
    assert shape_problems({**good, "results": [{"recipient": "A@example.com", "category": "hard"}]})
    assert shape_problems({**good, "kind": "auto_reply"})  # no language
    assert shape_problems({**good, "language": "de"})  # a language on a bounce
    assert shape_problems({**good, "kind": "unknown"})  # unknown with results
    assert shape_problems({**good, "kind": "feedback"})  # a complaint report meaning "hard"


def test_every_category_is_covered() -> None:
    """Scenario: each category (unknown included) has at least one fixture."""
    seen = {r["category"] for f in load_fixtures() for r in f.expected["results"]}
    if any(f.expected["kind"] == "unknown" for f in load_fixtures()):
        seen.add(Category.UNKNOWN.value)
    assert {c.value for c in Category} - seen == set()


def test_every_format_module_is_covered() -> None:
    """Scenario: each module in FORMATS recognises at least one fixture of its own."""
    seen = {f.expected["format"] for f in load_fixtures()}
    missing = {module.NAME for module in FORMATS} - seen
    assert not missing, f"format modules without a fixture: {sorted(missing)}"


def test_every_named_format_exists() -> None:
    """Scenario: a fixture names a module that is in FORMATS (no typo, no renamed module)."""
    names = {module.NAME for module in FORMATS}
    stale = [
        f"{f.id}: {f.expected['format']!r}"
        for f in load_fixtures()
        if f.expected["kind"] != "unknown" and f.expected["format"] not in names
    ]
    assert not stale, stale


def test_every_auto_reply_language_is_covered() -> None:
    """Scenario: out-of-office replies in each supported language are exercised."""
    seen = {f.expected.get("language") for f in load_fixtures()}
    assert AUTO_REPLY_LANGUAGES - seen == set()


def test_damaged_mail_is_covered() -> None:
    """Scenario: damaged mail (empty, broken MIME) is in the set, expected unknown with defects."""
    damaged = [f for f in load_fixtures() if f.expected["defects"]]
    assert any(f.eml.stat().st_size == 0 for f in damaged)
    assert all(f.expected["kind"] == "unknown" for f in damaged if f.eml.stat().st_size == 0)
    assert len(damaged) >= 3


def test_fixtures_use_documentation_domains_only() -> None:
    """Scenario: fixture senders and recipients are anonymised (example.com/.net/.org)."""
    leaked = [
        f"{f.id}: {r['recipient']}"
        for f in load_fixtures()
        for r in f.expected["results"]
        if r["recipient"].rsplit("@", 1)[-1].split(".")[-2:]
        not in (["example", "com"], ["example", "net"], ["example", "org"])
    ]
    assert not leaked, leaked
