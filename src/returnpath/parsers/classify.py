"""Delivery -> Verdict: category, reason and the id of the rule that decided, from rules.toml.

The rules are data (rules.toml, loaded once). Each rule lists conditions; all the conditions
a rule names must hold, and the first rule that matches decides. The conditions are:

- `action`: the DSN action is one of these ("failed", "delayed", "delivered", ...; "" = none)
- `hint`: the format's hint is one of these reasons (an auto-reply, a feedback report)
- `status`: the enhanced status code matches one of these patterns ("5.1.1", "4.4.*", "*.2.2")
- `code`: the SMTP reply code matches one of these patterns ("550", "5**")
- `command`: the SMTP command the reply answered is one of these ("MAIL", "RCPT", "DATA", ...)
- `text`: one of these regular expressions occurs in the diagnostic text (lower-cased; the
  patterns are written in lower case);
  "@name" stands for the list `name` of the [patterns] table, shared by several rules

A rule with `category` but no `reason` (the deferral rule) fixes the category only; the
next matching rule with a reason supplies the reason, and the verdict's rule is
"<category rule>/<reason rule>". A rule with a reason but no category takes the category
the reason implies (model.REASON_CATEGORY), except that a hard reason given with only
transient codes (4.x.x / 4xx, nothing permanent) is soft: a hard verdict needs the receiving
side to have said the failure is permanent; `notaccept` is hard only with a 5xx code.

The status used is the most specific one known: the DSN Status, unless it is generic
(x.0.0) and the diagnostic text carries a specific code ("Status: 5.0.0" with
"550 5.1.1 user unknown" is 5.1.1). Text rules come before status rules in rules.toml, so
what the receiving server said beats a generic code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from returnpath.model import REASON_CATEGORY, Category, Delivery, Reason, Verdict
from returnpath.parsers.smtp import diagnostic_codes, last_command

try:  # the regex parser, to find the plain text a pattern requires (a speed shortcut only)
    import re._parser as _sre  # type: ignore[import-not-found]
except ImportError:  # a private module: without it, every pattern is simply always tried
    _sre = None

#: How much diagnostic text the text rules read; real replies are far shorter.
_TEXT_LIMIT = 4096


class RulesError(ValueError):
    """Raised at import when rules.toml is malformed (a broken rules file must not ship)."""


def _pattern(values: list[str], kind: str) -> re.Pattern[str]:
    """Code patterns ("5.1.*", "5**") as one anchored regex."""
    alternatives = []
    for value in values:
        if kind == "status":
            parts = [r"\d{1,3}" if p in ("*", "x", "X") else re.escape(p) for p in value.split(".")]
            alternatives.append(r"\.".join(parts))
        else:
            alternatives.append("".join(r"\d" if c in "*xX" else re.escape(c) for c in value))
    return re.compile("^(?:" + "|".join(alternatives) + ")$")


def _sequence_literals(items: list[tuple[object, object]]) -> tuple[str, ...] | None:
    """Plain substrings of which every match of this parsed sequence contains one."""
    runs: list[str] = []
    current: list[str] = []
    for op, value in items:
        if op is _sre.LITERAL:
            current.append(chr(value))  # type: ignore[arg-type]
            continue
        if current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    best = max(runs, key=len, default="")
    if len(best) >= 3 or (len(best) >= 2 and not best.isascii()):
        return (best,)
    for op, value in items:
        # the first group or alternation that every match passes through
        if op is _sre.SUBPATTERN:
            found = _sequence_literals(list(value[-1]))  # type: ignore[index]
        elif op is _sre.BRANCH:
            branches = [_sequence_literals(list(b)) for b in value[1]]  # type: ignore[index]
            if any(b is None for b in branches):
                continue
            found = tuple(lit for b in branches if b for lit in b)
        else:
            continue
        if found:
            return found
    return None


def _required_literals(pattern: str) -> tuple[str, ...] | None:
    """Substrings of which every match of `pattern` contains one, or None when unknown."""
    if _sre is None:
        return None
    try:
        return _sequence_literals(list(_sre.parse(pattern)))
    except Exception:  # the shortcut is optional: without it the regex alone decides
        return None


def _literals(patterns: list[str]) -> tuple[str, ...] | None:
    found = [_required_literals(p) for p in patterns]
    if any(lits is None for lits in found):
        return None
    return tuple(dict.fromkeys(lit for lits in found if lits for lit in lits))


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of rules.toml."""

    id: str
    category: Category | None
    reason: Reason | None
    actions: frozenset[str] | None
    hints: frozenset[Reason] | None
    status: re.Pattern[str] | None
    code: re.Pattern[str] | None
    commands: frozenset[str] | None
    #: The `text` patterns (with the "@name" lists expanded), in order; () when none.
    patterns: tuple[str, ...]
    sample: str
    sample_status: str | None
    sample_code: str | None
    sample_action: str | None
    sample_hint: Reason | None
    sample_command: str | None
    #: `text` split into its patterns, filed under the substrings they require: a pattern
    #: runs only when one of its substrings occurs, so a word common to a few patterns
    #: ("user", "address") no longer runs the whole alternation on nearly every diagnostic.
    by_literal: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = ()
    #: the patterns with no required substring known: always run
    unfiled: tuple[re.Pattern[str], ...] = ()

    # `text` and `literals` say what the rule means as a whole; matching does not need them
    # (text_matches gives the same answer from `by_literal` and `unfiled`), so they are built
    # on demand: compiling them for every rule cost each process ~70 ms at start-up.
    @property
    def text(self) -> re.Pattern[str] | None:
        """The patterns as one alternation: the text condition, as written."""
        return _alternation(self.patterns) if self.patterns else None

    @property
    def literals(self) -> tuple[str, ...] | None:
        """Substrings of which the text must contain one for `text` to have a chance (None: no
        such shortcut known)."""
        return _literals(list(self.patterns)) if self.patterns else None

    def matches(self, facts: _Facts) -> bool:
        if not self.fits(facts.action, facts.hint, facts.status, facts.code, facts.command):
            return False
        return not self.patterns or self.text_matches(facts.text)

    def fits(
        self,
        action: str,
        hint: Reason | None,
        status: str | None,
        code: str | None,
        command: str | None,
    ) -> bool:
        """Whether every condition but `text` holds."""
        if self.actions is not None and action not in self.actions:
            return False
        if self.hints is not None and hint not in self.hints:
            return False
        if self.status is not None and not (status and self.status.match(status)):
            return False
        if self.code is not None and not (code and self.code.match(code)):
            return False
        return self.commands is None or command in self.commands

    def text_matches(self, text: str) -> bool:
        """Whether `text` (lower-cased) matches: the same answer as `self.text.search`."""
        # an empty diagnostic is matched only by a pattern that allows it ('^$')
        for pattern in self.unfiled:
            if pattern.search(text):
                return True
        for literal, patterns in self.by_literal:
            if literal in text:
                for pattern in patterns:
                    if pattern.search(text):
                        return True
        return False


@dataclass(frozen=True, slots=True)
class _Facts:
    action: str
    hint: Reason | None
    status: str | None
    code: str | None
    command: str | None
    text: str


#: An upper-case letter that is not part of an escape such as \S or \B.
_UPPER = re.compile(r"(?<!\\)[A-Z]")

_KNOWN_KEYS = {
    "id", "category", "reason", "action", "hint", "status", "code", "command", "text", "sample",
    "sample_status", "sample_code", "sample_action", "sample_hint", "sample_command", "note",
}  # fmt: skip


def _load_rule(entry: dict[str, object], patterns: dict[str, list[str]]) -> Rule:
    unknown = set(entry) - _KNOWN_KEYS
    rule_id = str(entry.get("id", ""))
    if unknown or not rule_id:
        raise RulesError(f"rule {rule_id!r}: missing id or unknown keys {sorted(unknown)}")

    def strings(key: str) -> list[str] | None:
        value = entry.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise RulesError(f"rule {rule_id!r}: {key} must be a string or a list of strings")

    try:
        category = Category(str(entry["category"])) if "category" in entry else None
        reason = Reason(str(entry["reason"])) if "reason" in entry else None
        hints = strings("hint")
        sample_hint = Reason(str(entry["sample_hint"])) if "sample_hint" in entry else None
        texts: list[str] = []
        for t in strings("text") or []:
            if t.startswith("@"):
                if t[1:] not in patterns:
                    raise RulesError(f"rule {rule_id!r}: no pattern list {t!r}")
                texts.extend(patterns[t[1:]])
            else:
                texts.append(t)
        for t in texts:
            if _UPPER.search(t):
                raise RulesError(f"rule {rule_id!r}: write text patterns in lower case: {t!r}")
        # the diagnostic is lower-cased once; case-sensitive patterns are several times faster
        filed = _filed(texts)
    except (ValueError, re.error) as exc:
        raise RulesError(f"rule {rule_id!r}: {exc}") from exc
    if category is None and reason is None:
        raise RulesError(f"rule {rule_id!r}: needs a category or a reason")
    if "sample" not in entry:
        raise RulesError(f"rule {rule_id!r}: every rule carries the real reply it matches")
    actions = strings("action")
    status = strings("status")
    code = strings("code")
    commands = strings("command")
    return Rule(
        id=rule_id,
        category=category,
        reason=reason,
        actions=frozenset(actions) if actions is not None else None,
        hints=frozenset(Reason(h) for h in hints) if hints is not None else None,
        status=_pattern(status, "status") if status else None,
        code=_pattern(code, "code") if code else None,
        commands=frozenset(c.upper() for c in commands) if commands is not None else None,
        patterns=tuple(texts),
        **filed,
        sample=str(entry["sample"]),
        sample_status=str(entry["sample_status"]) if "sample_status" in entry else None,
        sample_code=str(entry["sample_code"]) if "sample_code" in entry else None,
        sample_action=str(entry["sample_action"]) if "sample_action" in entry else None,
        sample_hint=sample_hint,
        sample_command=str(entry["sample_command"]) if "sample_command" in entry else None,
    )


def _filed(patterns: list[str]) -> dict[str, Any]:
    """The patterns compiled one by one and filed under the substrings each requires."""
    by_literal: dict[str, list[re.Pattern[str]]] = {}
    unfiled: list[re.Pattern[str]] = []
    for source in patterns:
        compiled = re.compile(source)
        literals = _required_literals(source)
        if not literals:
            unfiled.append(compiled)
            continue
        for literal in literals:
            by_literal.setdefault(literal, []).append(compiled)
    # A substring that contains another of the rule's substrings needs no test of its own:
    # a text holding it holds the shorter one, so its patterns are filed under that one
    # (a third of the tests, and each pattern still runs whenever it could match).
    filed: dict[str, list[re.Pattern[str]]] = {}
    for literal, found in by_literal.items():
        home = min((lit for lit in by_literal if lit in literal), key=len)
        filed.setdefault(home, [])
        filed[home].extend(p for p in found if p not in filed[home])
    return {
        "by_literal": tuple((lit, tuple(found)) for lit, found in filed.items()),
        "unfiled": tuple(unfiled),
    }


@lru_cache(maxsize=256)
def _alternation(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def load_rules(text: str | None = None) -> tuple[Rule, ...]:
    """The rules, in order, from rules.toml (or from `text`, for tests)."""
    if text is None:
        text = resources.files("returnpath.parsers").joinpath("rules.toml").read_text("utf-8")
    data = tomllib.loads(text)
    patterns = data.get("patterns", {})
    if not isinstance(patterns, dict) or not all(
        isinstance(v, list) and all(isinstance(p, str) for p in v) for v in patterns.values()
    ):
        raise RulesError("[patterns] must map names to lists of regular expressions")
    rules = tuple(_load_rule(entry, patterns) for entry in data.get("rule", []))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulesError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    return rules


RULES: tuple[Rule, ...] = load_rules()

_FALLBACK = Verdict(Category.UNKNOWN, Reason.UNDEFINED, "no-rule")


@lru_cache(maxsize=64)
def _continuations(code: str) -> re.Pattern[str]:
    return re.compile(rf"(?<=\S)\s+{code}[ -](?:\d\.\d{{1,3}}\.\d{{1,3}}\s+)?")


def facts_of(delivery: Delivery) -> _Facts:
    """The normalised inputs of the rules for one delivery."""
    text = (delivery.diagnostic or "")[:_TEXT_LIMIT].lower()
    code, text_status = diagnostic_codes(text)
    if code:
        # a multi-line reply squeezed into one line repeats "550-5.7.1 " inside the text
        text = _continuations(code).sub(" ", text)
    status = delivery.status
    if text_status and (
        status is None
        or (status.endswith(".0.0") and text_status[0] == status[0])
        or status[0] not in "245"
    ):
        status = text_status
    return _Facts(
        action=delivery.action.value,
        hint=delivery.hint,
        status=status,
        code=delivery.reply_code or code,
        # a reply that names the command it answered ("... (in reply to MAIL FROM command)")
        # says so itself when the format found no session account
        command=(delivery.smtp_command or "").upper() or last_command(text),
        text=text,
    )


def _final_category(rule: Rule, facts: _Facts) -> Category:
    assert rule.reason is not None
    category = rule.category or REASON_CATEGORY[rule.reason]
    if category is Category.HARD:
        permanent = (facts.code or "").startswith("5") or (facts.status or "").startswith("5")
        transient = (facts.code or "").startswith("4") or (facts.status or "").startswith("4")
        if (transient and not permanent) or (rule.reason is Reason.NOT_ACCEPT and not permanent):
            return Category.SOFT
    return category


@lru_cache(maxsize=2048)
def _fitting(
    action: str, hint: Reason | None, status: str | None, code: str | None, command: str | None
) -> tuple[Rule, ...]:
    """The rules, in order, whose conditions other than `text` hold for these values: they
    repeat from one delivery to the next (a few actions, statuses and codes), so each
    combination is worked out once and a delivery runs only the text conditions."""
    return tuple(r for r in RULES if r.fits(action, hint, status, code, command))


def classify_facts(facts: _Facts, rules: tuple[Rule, ...] = RULES) -> Verdict:
    """The verdict of the first matching rule(s) for these facts."""
    keys = (facts.action, facts.hint, facts.status, facts.code, facts.command)
    # only short values are remembered: a status copied from a JSON field can be anything
    short = len(facts.status or "") + len(facts.code or "") + len(facts.command or "") <= 64
    if rules is RULES and short:
        fitting: Sequence[Rule] = _fitting(*keys)
    else:
        fitting = [r for r in rules if r.fits(*keys)]
    category_rule: Rule | None = None
    for rule in fitting:
        if category_rule is not None and rule.reason is None:
            continue
        if rule.patterns and not rule.text_matches(facts.text):
            continue
        if rule.reason is None:
            category_rule = rule
            continue
        if category_rule is not None:
            assert category_rule.category is not None
            return Verdict(category_rule.category, rule.reason, f"{category_rule.id}/{rule.id}")
        return Verdict(_final_category(rule, facts), rule.reason, rule.id)
    if category_rule is not None:
        assert category_rule.category is not None
        return Verdict(category_rule.category, Reason.UNDEFINED, category_rule.id)
    return _FALLBACK


def classify(delivery: Delivery) -> Verdict:
    """Category, reason and deciding rule for one delivery."""
    return classify_facts(facts_of(delivery))


def first_match(
    delivery: Delivery, *, with_reason: bool = False, rules: tuple[Rule, ...] = RULES
) -> Rule | None:
    """The first rule whose conditions hold (only rules giving a reason, with `with_reason`)."""
    facts = facts_of(delivery)
    for rule in rules:
        if (rule.reason is not None or not with_reason) and rule.matches(facts):
            return rule
    return None
