"""`returnpath classify`: the command-line contract of DESIGN.md §6."""

import json
from pathlib import Path

from typer.testing import CliRunner

from returnpath.cli import app
from returnpath.cli.classify import KEYS

HUMAN = b"From: alice@example.com\nTo: bounces@example.net\nSubject: hello\n\nJust saying hi.\n"


def run(*args: str):
    return CliRunner().invoke(app, ["classify", *args])


def test_unrecognised_message_prints_one_unknown_object(tmp_path: Path) -> None:
    """Scenario: a human note to the bounce address gives one `unknown` row and exit 0."""
    (tmp_path / "note.eml").write_bytes(HUMAN)
    result = run(str(tmp_path / "note.eml"))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    assert tuple(rows[0]) == KEYS
    assert rows[0]["category"] == "unknown" and rows[0]["recipient"] is None
    assert rows[0]["file"] == str(tmp_path / "note.eml")


def test_directory_names_are_relative_and_mbox_messages_numbered(tmp_path: Path) -> None:
    """Scenario: files under a directory argument are named relative to it; mbox messages FILE#N."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.eml").write_bytes(HUMAN)
    mbox = b"From x@example.com  Thu Jul  2 12:05:05 2020\n" + HUMAN
    (tmp_path / "box.mbox").write_bytes(mbox + mbox)
    result = run(str(tmp_path), "--format", "json")
    assert result.exit_code == 0
    names = [row["file"] for row in json.loads(result.stdout)]
    assert names == ["box.mbox#1", "box.mbox#2", "sub/a.eml"]


def test_unreadable_path_is_a_clear_error(tmp_path: Path) -> None:
    """Scenario: a path that does not exist prints one line naming it and exits 2."""
    result = run(str(tmp_path / "missing.eml"))
    assert result.exit_code == 2
    assert "missing.eml: no such file or directory" in result.stderr
    assert result.stdout == ""
