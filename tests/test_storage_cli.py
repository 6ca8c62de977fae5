"""The database commands: db, contacts show/reenable, feed, report, suppressions export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from returnpath.cli import app
from returnpath.cli.options import parse_when
from returnpath.model import Category, Reason, VerpState
from returnpath.storage import Store
from returnpath.storage.tables import ContactHistoryRow, ContactRow
from support.storage_factory import T0, delivery, message


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the caller's environment and working directory out of the commands."""
    monkeypatch.delenv("RETURNPATH_DATABASE_URL", raising=False)
    monkeypatch.delenv("RETURNPATH_CONFIG", raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def filled(store: Store, store_url: str) -> str:
    """A database with hard bounces, blocks, a complaint and an untrusted bounce."""
    day = timedelta(days=1)
    records = [
        (T0, message(delivery("gone@example.com", Category.HARD), received_at=T0)),
        (T0 + day, message(delivery("b1@yahoo.example", Category.BLOCK), received_at=T0 + day)),
        (T0 + day, message(delivery("b2@yahoo.example", Category.BLOCK), received_at=T0 + day)),
        (T0 + day, message(delivery("full@gmail.example", Category.SOFT), received_at=T0 + day)),
        (
            T0 + 2 * day,
            message(
                delivery("angry@gmail.example", Category.COMPLAINT, feedback_type="abuse"),
                received_at=T0 + 2 * day,
                original_headers=(("x-campaign-id", "winter"),),
            ),
        ),
        (
            T0 + 9 * day,
            message(
                delivery("typo@gmial.example", Category.HARD, Reason.HOST_UNKNOWN),
                received_at=T0 + 9 * day,
            ),
        ),
    ]
    for now, (raw, result) in records:
        store.record(raw, result, now=now)
    return store_url


def history_rows(store: Store, address: str) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ContactHistoryRow.__table__)
            .join(ContactRow, ContactRow.id == ContactHistoryRow.contact_id)
            .where(ContactRow.address == address)
            .order_by(ContactHistoryRow.id)
        ).mappings()
        return [dict(r) for r in rows]


def status_of(store: Store, address: str) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(select(ContactRow.status).where(ContactRow.address == address)).scalar()


def test_reenable_without_correction_after_confirmation(store: Store, filled: str) -> None:
    """Scenario: an operator re-enables a hard-bounced address after the strong warning."""
    result = run(
        "contacts", "reenable", "gone@example.com", "--note", "user confirmed by phone",
        "--actor", "alice", "-d", filled, input="y\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "harms your sender reputation" in result.stderr
    assert "WARNING: gone@example.com itself will be mailed again" in result.stderr
    assert "gone@example.com re-enabled" in result.stdout
    assert status_of(store, "gone@example.com") == "subscribed"
    last = history_rows(store, "gone@example.com")[-1]
    assert (last["change"], last["from_status"], last["to_status"]) == (
        "reenabled", "unsubscribed", "subscribed",
    )  # fmt: skip
    assert (last["actor"], last["note"], last["reason"]) == (
        "alice", "user confirmed by phone", "hard_bounce",
    )  # fmt: skip
    # Re-enabled contacts leave the suppression list.
    export = run("suppressions", "export", "-d", filled)
    assert "gone@example.com" not in export.stdout


def test_reenable_with_corrected_address(store: Store, filled: str) -> None:
    """Scenario: a misspelt domain is corrected; the new address is subscribed and linked."""
    result = run(
        "contacts", "reenable", "typo@gmial.example", "--corrected-address", "typo@gmail.example",
        "--actor", "bob", "--yes", "-d", filled,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "harms your sender reputation" in result.stderr
    assert "itself will be mailed again" not in result.stderr
    assert status_of(store, "typo@gmial.example") == "unsubscribed"
    assert status_of(store, "typo@gmail.example") == "subscribed"
    old_history = history_rows(store, "typo@gmial.example")
    new_history = history_rows(store, "typo@gmail.example")
    assert [h["change"] for h in old_history] == ["unsubscribed", "address_corrected"]
    assert [h["change"] for h in new_history] == ["corrected_from"]
    assert old_history[-1]["actor"] == new_history[0]["actor"] == "bob"
    shown = json.loads(run("contacts", "show", "typo@gmial.example", "--format", "json",
                           "-d", filled).stdout)  # fmt: skip
    assert shown["replaced_by"] == "typo@gmail.example"
    assert shown["status"] == "unsubscribed"
    rows = list(csv.DictReader(io.StringIO(run("suppressions", "export", "-d", filled).stdout)))
    typo = next(r for r in rows if r["address"] == "typo@gmial.example")
    assert typo["replaced_by"] == "typo@gmail.example"


def test_reenable_declined_changes_nothing(store: Store, filled: str) -> None:
    """Scenario: the operator answers no at the confirmation prompt."""
    result = run("contacts", "reenable", "gone@example.com", "-d", filled, input="n\n")
    assert result.exit_code == 1
    assert "nothing changed" in result.stderr
    assert status_of(store, "gone@example.com") == "unsubscribed"
    assert len(history_rows(store, "gone@example.com")) == 1


@pytest.mark.parametrize(
    ("address", "message_part"),
    [
        ("nobody@example.com", "no contact 'nobody@example.com'"),
        ("full@gmail.example", "is subscribed, not unsubscribed"),
    ],
)
def test_reenable_refuses_unknown_or_subscribed(
    filled: str, address: str, message_part: str
) -> None:
    """Scenario: re-enabling an unknown address or a subscribed contact is refused, exit 1."""
    result = run("contacts", "reenable", address, "--yes", "-d", filled)
    assert result.exit_code == 1
    assert message_part in result.stderr
    assert result.stderr.count("\n") == 1


def test_contacts_show(filled: str) -> None:
    """Scenario: an operator looks at a blocked contact."""
    result = run("contacts", "show", "B1@Yahoo.example", "-d", filled)
    assert result.exit_code == 0, result.stderr
    assert "status:   subscribed" in result.stdout
    assert "blocked" in result.stdout
    missing = run("contacts", "show", "nobody@example.com", "-d", filled)
    assert missing.exit_code == 1 and "no contact" in missing.stderr


def test_feed_filters_and_jsonl(filled: str) -> None:
    """Scenario: the feed, newest first, filtered by category and by contact."""
    lines = run("feed", "--format", "jsonl", "-d", filled).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["recipient"] for e in events][:2] == ["typo@gmial.example", "angry@gmail.example"]
    assert all(e["rule"] and e["reason"] for e in events)
    blocks = [
        json.loads(line)
        for line in run(
            "feed", "--category", "block", "--format", "jsonl", "-d", filled
        ).stdout.splitlines()
    ]
    assert sorted(e["recipient"] for e in blocks) == ["b1@yahoo.example", "b2@yahoo.example"]
    one = run("feed", "--contact", "gone@example.com", "--format", "jsonl", "-d", filled)
    assert [json.loads(x)["category"] for x in one.stdout.splitlines()] == ["hard"]
    limited = run("feed", "--limit", "2", "--format", "jsonl", "-d", filled)
    assert len(limited.stdout.splitlines()) == 2
    table = run("feed", "-d", filled)
    assert (
        table.exit_code == 0
        and "occurred" in table.stdout
        and "angry@gmail.example" in table.stdout
    )


def test_feed_since_absolute_date(filled: str) -> None:
    """Scenario: --since 2026-11-02 keeps the events from that day on."""
    result = run("feed", "--since", "2026-11-02", "--format", "jsonl", "-d", filled)
    recipients = {json.loads(x)["recipient"] for x in result.stdout.splitlines()}
    assert "gone@example.com" not in recipients
    assert "b1@yahoo.example" in recipients


def test_report_json_counts_shares_and_block_domains(filled: str) -> None:
    """Scenario: the report over everything, as JSON, grouped by domain."""
    result = run("report", "--by", "domain", "--format", "json", "-d", filled)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    counts = {c["category"]: c["count"] for c in report["categories"]}
    assert counts["hard"] == 2 and counts["block"] == 2 and counts["complaint"] == 1
    assert report["total"] == 6
    shares = {c["category"]: c["share"] for c in report["categories"]}
    assert shares["hard"] == pytest.approx(2 / 6, abs=1e-4)
    assert report["unsubscribes"] == {"complaint": 1, "hard_bounce": 2}
    assert report["top_block_domains"][0] == {
        "domain": "yahoo.example", "blocks": 2, "events": 2, "block_rate": 1.0,
    }  # fmt: skip
    groups = {g["key"]: g["counts"] for g in report["groups"]}
    assert groups["gmail.example"] == {"soft": 1, "complaint": 1}


def test_report_range_and_by_day_csv(filled: str) -> None:
    """Scenario: a CSV by day for 2026-11-01 up to 2026-11-03."""
    result = run(
        "report", "--since", "2026-11-01", "--until", "2026-11-03", "--by", "day",
        "--format", "csv", "-d", filled,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["day"], r["total"], r["hard"], r["block"]) for r in rows] == [
        ("2026-11-01", "1", "1", "0"),
        ("2026-11-02", "3", "0", "2"),
    ]


def test_report_by_week_and_campaign(filled: str) -> None:
    """Scenario: ISO weeks and campaigns as report dimensions."""
    weeks = json.loads(run("report", "--by", "week", "--format", "json", "-d", filled).stdout)
    assert [g["key"] for g in weeks["groups"]] == ["2026-W44", "2026-W45", "2026-W46"]
    campaigns = json.loads(
        run("report", "--by", "campaign", "--format", "json", "-d", filled).stdout
    )
    assert {g["key"]: g["total"] for g in campaigns["groups"]} == {"(none)": 5, "winter": 1}


def test_report_table_and_untrusted_note(make_store, store_url: str) -> None:
    """Scenario: untrusted verdicts are left out of the counts but mentioned."""
    store = make_store(require_signed_verp=True)
    store.record(*message(delivery("x@example.com", Category.HARD), verp=VerpState.INVALID), now=T0)
    result = run("report", "-d", store_url)
    assert result.exit_code == 0, result.stderr
    assert "0 events (1 untrusted, not counted)" in result.stdout
    assert "Categories" in result.stdout


def test_suppressions_export_jsonl(filled: str) -> None:
    """Scenario: the sending side loads the suppression list as JSON lines."""
    result = run("suppressions", "export", "--format", "jsonl", "-d", filled)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["address"], r["reason"]) for r in rows] == [
        ("gone@example.com", "hard_bounce"),
        ("angry@gmail.example", "complaint"),
        ("typo@gmial.example", "hard_bounce"),
    ]
    assert rows[0]["unsubscribed_at"] == T0.isoformat()


def test_bad_since_value_exits_2(filled: str) -> None:
    """Scenario: an unreadable --since is refused with one line naming the option."""
    result = run("feed", "--since", "last tuesday", "-d", filled)
    assert result.exit_code == 2
    assert "--since" in result.stderr and result.stderr.count("\n") == 1


def test_unreachable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    """Scenario: the database URL points at a directory that does not exist."""
    url = f"sqlite:///{tmp_path}/missing/dir/x.db"
    for args in (["report"], ["feed"], ["suppressions", "export"], ["db", "upgrade"]):
        result = run(*args, "-d", url)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("returnpath: cannot open database")
        assert result.stderr.count("\n") == 1
    assert not (tmp_path / "missing").exists()


def test_default_database_is_created_in_working_directory() -> None:
    """Scenario: no option, no environment, no config: returnpath.db appears in the cwd."""
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert Path("returnpath.db").is_file()
    assert "upgraded from an empty database" in result.stdout
    again = run("db", "current")
    assert "up to date" in again.stdout
    # Every command upgrades the default database on first use.
    Path("returnpath.db").unlink()
    assert run("report").exit_code == 0
    assert Path("returnpath.db").is_file()


def test_database_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Scenario: --database beats the environment, which beats the config file."""
    from_config = tmp_path / "config.db"
    from_env = tmp_path / "env.db"
    from_option = tmp_path / "option.db"
    config = tmp_path / "returnpath.toml"
    config.write_text(f'database_url = "sqlite:///{from_config}"\n')
    assert run("db", "upgrade", "--config", str(config)).exit_code == 0
    assert from_config.exists()
    monkeypatch.setenv("RETURNPATH_DATABASE_URL", f"sqlite:///{from_env}")
    assert run("db", "upgrade", "--config", str(config)).exit_code == 0
    assert from_env.exists()
    result = run("db", "upgrade", "--config", str(config), "--database", f"sqlite:///{from_option}")
    assert result.exit_code == 0 and from_option.exists()


def test_bad_config_exits_2(tmp_path: Path) -> None:
    """Scenario: the config file has an unknown key."""
    config = tmp_path / "bad.toml"
    config.write_text("no_such_key = 1\n")
    result = run("report", "--config", str(config))
    assert result.exit_code == 2
    assert "no_such_key" in result.stderr and result.stderr.count("\n") == 1


def test_reenable_without_answer_changes_nothing(store: Store, filled: str) -> None:
    """Scenario: a script runs reenable without --yes and with no input to answer the prompt."""
    result = run("contacts", "reenable", "gone@example.com", "-d", filled, input="")
    assert result.exit_code == 1
    assert "pass --yes" in result.stderr
    assert status_of(store, "gone@example.com") == "unsubscribed"


@pytest.mark.parametrize(
    ("corrected", "message_part"),
    [
        ("gone@example.com", "is itself unsubscribed"),
        ("not-an-address", "is not a mail address"),
        ("TYPO@gmial.example", "same as"),
    ],
)
def test_reenable_refuses_bad_corrections(
    store: Store, filled: str, corrected: str, message_part: str
) -> None:
    """Scenario: the corrected address is suppressed itself, malformed, or the same one."""
    result = run(
        "contacts", "reenable", "typo@gmial.example", "--corrected-address", corrected,
        "--yes", "-d", filled,
    )  # fmt: skip
    assert result.exit_code == 1
    assert message_part in result.stderr
    assert status_of(store, "typo@gmial.example") == "unsubscribed"
    assert [h["change"] for h in history_rows(store, "typo@gmial.example")] == ["unsubscribed"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", T0 - timedelta(days=7)),
        ("24h", T0 - timedelta(hours=24)),
        ("30m", T0 - timedelta(minutes=30)),
        ("2w", T0 - timedelta(weeks=2)),
        ("1.5h", T0 - timedelta(minutes=90)),
        ("2026-10-01", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-01T08:30", datetime(2026, 10, 1, 8, 30, tzinfo=UTC)),
        ("2026-10-01T08:30+02:00", datetime(2026, 10, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    """Scenario: --since/--until values as operators type them."""
    assert parse_when(text, now=T0) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "-3d", "2026-13-01", ""])
def test_parse_when_refuses(text: str) -> None:
    """Scenario: values that are not a date, a date-time or a span."""
    with pytest.raises(ValueError, match="cannot read"):
        parse_when(text, now=T0)
