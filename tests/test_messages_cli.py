"""`returnpath messages list|show` over messages recorded through the real parse() and Store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from returnpath.cli import app
from returnpath.model import RawMessage
from returnpath.parsers import parse
from returnpath.storage import Store
from support.pg_fixtures import StoreFactory
from support.storage_factory import T0

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HARD = FIXTURES / "postfix" / "dsn-userunknown.eml"
MULTI = FIXTURES / "postfix" / "dsn-multi-recipient.eml"
BROKEN = FIXTURES / "damaged" / "broken-mime-boundary.eml"
HUMAN = FIXTURES / "unknown" / "human-reply-remove-me.eml"
HTML_ONLY = FIXTURES / "autoreply" / "fr-outlook-html-only.eml"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def record_file(store: Store, fixture: Path, hours: int, **key: object) -> int:
    """Record a fixture as the service would: parse() then Store.record(); its message id."""
    key.setdefault("path", str(fixture))
    return record_bytes(store, fixture.read_bytes(), hours, **key)


def record_bytes(store: Store, data: bytes, hours: int, **key: object) -> int:
    received = T0 + timedelta(hours=hours)
    fields: dict[str, object] = {"source": "file", "folder": "", "uidvalidity": None, "uid": None}
    fields.update(key)
    raw = RawMessage(data=data, received_at=received, **fields)  # type: ignore[arg-type]
    outcome = store.record(raw, parse(data), now=received)
    assert outcome.created
    return outcome.message_id


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the caller's environment and working directory out of the commands."""
    monkeypatch.delenv("RETURNPATH_DATABASE_URL", raising=False)
    monkeypatch.delenv("RETURNPATH_CONFIG", raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def ids(store: Store) -> dict[str, int]:
    """A hard bounce read over IMAP, a three-recipient bounce, two unparsed mails, an
    HTML-only auto-reply; received one hour apart in that order."""
    return {
        "hard": record_file(
            store, HARD, 1, source="main", folder="INBOX", uidvalidity=7, uid=42, path=None
        ),
        "multi": record_file(store, MULTI, 2),
        "broken": record_file(store, BROKEN, 3),
        "human": record_file(store, HUMAN, 4),
        "html": record_file(store, HTML_ONLY, 5),
    }


def test_show_hard_bounce_explains_the_verdict(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: an operator looks at a hard bounce: key, event with its rule, decoded mail."""
    result = run("messages", "show", str(ids["hard"]), "-d", store_url)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"message {ids['hard']}\n")
    assert "key:          source main, folder INBOX, uidvalidity 7, uid 42" in out
    assert "message-id:   <20241112091503.4XbQ2k1Zz9z1@smtp-out.example.com>" in out
    assert "received:     2026-11-01 13:00:00 UTC" in out
    assert f"size:         {HARD.stat().st_size} bytes" in out
    assert "kind:         dsn (format dsn)" in out
    assert "defects:      none" in out
    assert "Events (1)" in out
    assert "jdoe@example.net" in out
    assert "verdict:    hard / userunknown (rule " in out
    assert "status:     5.1.1, reply code 550, action failed" in out
    assert "remote MTA: mx1.example.net" in out
    assert "Recipient address rejected: User unknown in virtual mailbox table" in out
    assert "trusted:    yes" in out
    # The decoded mail: headers, MIME structure and the notification's own text only.
    assert "From:         Mail Delivery System <MAILER-DAEMON@smtp-out.example.com>" in out
    assert "To:           bounces@example.com" in out
    assert "Subject:      Undelivered Mail Returned to Sender" in out
    assert "Date:         2024-11-12T09:15:03+00:00" in out
    assert '  message/delivery-status "Delivery report"' in out
    assert '  message/rfc822 "Undelivered Message" (Subject: Your November newsletter)' in out
    assert "Parse defects: none" in out
    assert "    This is the mail system at host smtp-out.example.com." in out
    assert "Here is what happened this month" not in out  # the returned original's text


def test_show_json(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: a script reads one message with all its events and the decoded mail."""
    result = run("messages", "show", str(ids["multi"]), "--format", "json", "-d", store_url)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["id"], doc["source"], doc["uid"], doc["path"]) == (
        ids["multi"], "file", None, str(MULTI),
    )  # fmt: skip
    assert doc["raw_stored"] is True and doc["unparsed"] is False
    assert [(e["recipient"], e["category"], e["reason"], e["status"]) for e in doc["events"]] == [
        ("a.one@example.org", "hard", "userunknown", "5.1.1"),
        ("b.two@example.org", "soft", "mailboxfull", "5.2.2"),
        ("c.three@example.org", "soft", "suspend", "5.2.1"),
    ]
    assert all(e["rule"] and e["trusted"] is True for e in doc["events"])
    mail = doc["mail"]
    assert mail["subject"] == "Undelivered Mail Returned to Sender"
    assert "<c.three@example.org>: host mx.example.org" in mail["body"]
    assert mail["body_truncated"] is False
    assert [p["type"] for p in mail["parts"]] == [
        "multipart/report", "text/plain", "message/delivery-status", "message/rfc822",
    ]  # fmt: skip


def test_show_unparsed_message_with_mime_defects(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: a damaged mail kept for review shows its defects and its undecoded body."""
    result = run("messages", "show", str(ids["broken"]), "-d", store_url)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"message {ids['broken']}: UNPARSED" in out
    assert "kind:         unknown" in out
    assert "defects:      StartBoundaryNotFoundDefect" in out
    assert "Events (0)" in out
    assert "multipart/mixed: StartBoundaryNotFoundDefect: The claimed start boundary" in out
    assert "Parser note:  Email content 'mixed' not handled" in out
    assert "Body (undecoded body," in out
    assert "This week's offers: 20% off everything." in out
    # mail-parser's warning is shown in the view, not leaked to stderr.
    assert "not handled" not in result.stderr


def test_show_html_only_mail(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: an auto-reply with only an HTML part shows that part as text."""
    out = run("messages", "show", str(ids["html"]), "-d", store_url).stdout
    assert "Subject:      Réponse automatique : Your November newsletter" in out
    assert "Body (HTML part, tags removed," in out
    assert "Je suis en congé jusqu'au 2 décembre." in out
    assert "<p>" not in out


def test_raw_round_trips_into_classify(store_url: str, ids: dict[str, int], tmp_path: Path) -> None:
    """Scenario: `messages show ID --raw > m.eml && classify m.eml` gives the same verdict."""
    result = run("messages", "show", str(ids["hard"]), "--raw", "-d", store_url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == HARD.read_bytes()
    saved = tmp_path / "m.eml"
    saved.write_bytes(result.stdout_bytes)
    again = json.loads(run("classify", str(saved), "--format", "jsonl").stdout)
    original = json.loads(run("classify", str(HARD), "--format", "jsonl").stdout)
    assert again.pop("file") == str(saved)
    original.pop("file")
    assert again == original
    assert again["category"] == "hard"


def test_long_body_is_cut_and_control_characters_are_neutralised(
    store: Store, store_url: str
) -> None:
    """Scenario: a long reply full of terminal escapes is shown cut, without the escapes."""
    body = ("\x1b[2J\x1b]0;owned\x07 line of text\n" * 400).encode()
    data = b"From: someone@example.org\nSubject: re: \x1b[31mhello\nMessage-ID: <long@x>\n\n" + body
    message_id = record_bytes(store, data, 1, path="long.eml")
    result = run("messages", "show", str(message_id), "-d", store_url)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Subject:      re: \ufffd[31mhello" in result.stdout
    assert "more characters: --raw shows it all]" in result.stdout
    doc = json.loads(run("messages", "show", str(message_id), "--format", "json",
                         "-d", store_url).stdout)  # fmt: skip
    assert doc["mail"]["body_truncated"] is True
    assert len(doc["mail"]["body"]) == 4000 < doc["mail"]["body_chars"]


def test_message_recorded_without_raw_bytes(make_store: StoreFactory, store_url: str) -> None:
    """Scenario: with store_raw = false, show says the bytes were not kept; --raw refuses."""
    store = make_store(store_raw=False)
    message_id = record_file(store, HARD, 1)
    result = run("messages", "show", str(message_id), "-d", store_url)
    assert result.exit_code == 0, result.stderr
    assert "verdict:    hard / userunknown" in result.stdout
    assert "recorded without its raw bytes (store_raw = false)" in result.stdout
    assert "Mail (decoded" not in result.stdout
    doc = json.loads(run("messages", "show", str(message_id), "--format", "json",
                         "-d", store_url).stdout)  # fmt: skip
    assert doc["raw_stored"] is False and doc["mail"] is None
    raw = run("messages", "show", str(message_id), "--raw", "-d", store_url)
    assert raw.exit_code == 1
    assert raw.stdout_bytes == b""
    assert "recorded without its raw bytes (store_raw = false)" in raw.stderr


def test_unknown_message_id(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: a message id that does not exist: one clear line, exit 1."""
    missing = max(ids.values()) + 100
    for extra in ([], ["--raw"], ["--format", "json"]):
        result = run("messages", "show", str(missing), *extra, "-d", store_url)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == f"returnpath: no message {missing} in the database\n"


def test_list_newest_first_with_first_verdict(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: the list shows every message, newest first, with its first verdict."""
    result = run("messages", "list", "--format", "jsonl", "-d", store_url)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [
        ids["html"], ids["human"], ids["broken"], ids["multi"], ids["hard"],
    ]  # fmt: skip
    multi = rows[3]
    assert (multi["recipients"], multi["first_category"], multi["first_reason"]) == (
        3, "hard", "userunknown",
    )  # fmt: skip
    assert multi["received_at"] == (T0 + timedelta(hours=2)).isoformat()
    assert [r["unparsed"] for r in rows] == [False, True, True, False, False]

    table = run("messages", "list", "-d", store_url).stdout.splitlines()
    assert table[0].split() == [
        "id", "received", "mailbox", "kind", "rcpts", "category", "reason", "subject",
    ]  # fmt: skip
    hard_line = table[-1]
    assert hard_line.startswith(f"{ids['hard']} ")
    assert "2026-11-01 13:00:00  main/INBOX" in hard_line
    assert "hard" in hard_line and "userunknown" in hard_line
    broken_line = next(line for line in table if line.startswith(f"{ids['broken']} "))
    assert str(BROKEN) in broken_line and "(none)" in broken_line


def test_list_filters(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: an operator narrows the list to unparsed mail, a category, a kind, a time."""

    def listed(*args: str) -> list[int]:
        result = run("messages", "list", "--format", "jsonl", *args, "-d", store_url)
        assert result.exit_code == 0, result.stderr
        return [json.loads(line)["id"] for line in result.stdout.splitlines()]

    assert listed("--unparsed") == [ids["human"], ids["broken"]]
    assert listed("--category", "hard") == [ids["multi"], ids["hard"]]
    assert listed("--category", "soft") == [ids["multi"]]  # not only the first event counts
    assert listed("--kind", "auto_reply") == [ids["html"]]
    assert listed("--since", "2026-11-01T14:30") == [ids["html"], ids["human"], ids["broken"]]
    assert listed("--limit", "2") == [ids["html"], ids["human"]]
    assert listed("--unparsed", "--category", "hard") == []
    empty = run("messages", "list", "--kind", "feedback", "-d", store_url)
    assert empty.exit_code == 0 and "no messages" in empty.stderr
    bad = run("messages", "list", "--since", "yesterday-ish", "-d", store_url)
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_feed_shows_the_message_id(store_url: str, ids: dict[str, int]) -> None:
    """Scenario: from a feed line the operator goes to `messages show` with its message id."""
    table = run("feed", "--contact", "b.two@example.org", "-d", store_url).stdout.splitlines()
    assert table[0].split()[-1] == "message"
    assert table[1].split()[-1] == str(ids["multi"])
    entry = json.loads(
        run("feed", "--contact", "jdoe@example.net", "--format", "jsonl", "-d", store_url).stdout
    )
    shown = run("messages", "show", str(entry["message_id"]), "-d", store_url)
    assert shown.stdout.startswith(f"message {ids['hard']}\n")
