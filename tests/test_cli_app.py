"""The command line's own options."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

from returnpath.cli import app


def test_version_prints_the_installed_version() -> None:
    """Scenario: `returnpath --version` prints the installed package's version and exits 0."""
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0
    assert done.output.strip() == f"returnpath {version('returnpath')}"


def test_no_command_shows_the_commands() -> None:
    """Scenario: `returnpath` alone lists the commands (usage, exit 2), as before --version."""
    done = CliRunner().invoke(app, [])
    assert done.exit_code == 2
    assert "poll" in done.output and "backfill" in done.output
