"""`returnpath verp encode|verify` with the secret from the environment, never argv."""

import json

from typer.testing import CliRunner

from returnpath.cli import app

ENV = {"RETURNPATH_VERP_SECRET": "s3cret", "RETURNPATH_CONFIG": ""}


def test_encode_then_verify_round_trip() -> None:
    """Scenario: an address encoded by the command verifies back to its recipient and campaign."""
    runner = CliRunner()
    enc = runner.invoke(
        app,
        ["verp", "encode", "Ann@Example.com", "--domain", "mail.example.net", "--campaign", "c42"],
        env=ENV,
    )
    assert enc.exit_code == 0, enc.output
    address = enc.stdout.strip()
    assert address.startswith("bounces+") and address.endswith("@mail.example.net")
    ver = runner.invoke(app, ["verp", "verify", address], env=ENV)
    assert ver.exit_code == 0
    assert json.loads(ver.stdout) == {
        "state": "valid",
        "recipient": "Ann@Example.com",
        "campaign": "c42",
    }


def test_verify_with_another_secret_is_invalid() -> None:
    """Scenario: a token signed with one secret is reported invalid (exit 1) under another."""
    runner = CliRunner()
    address = runner.invoke(
        app, ["verp", "encode", "a@example.com", "--domain", "example.net"], env=ENV
    ).stdout.strip()
    ver = runner.invoke(
        app, ["verp", "verify", address], env={**ENV, "RETURNPATH_VERP_SECRET": "other"}
    )
    assert ver.exit_code == 1
    assert json.loads(ver.stdout)["state"] == "invalid"


def test_no_secret_is_a_clear_error() -> None:
    """Scenario: without any configured secret the command says how to set one and exits 2."""
    result = CliRunner().invoke(
        app,
        ["verp", "verify", "bounces+abc@example.net"],
        env={"RETURNPATH_CONFIG": "", "RETURNPATH_VERP_SECRET": ""},
    )
    assert result.exit_code == 2
    assert "no VERP secret configured" in result.stderr
