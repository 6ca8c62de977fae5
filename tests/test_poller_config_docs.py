"""The example config file and docs/config.md cover every setting, and the example is valid."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from returnpath.config import MailboxConfig, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "returnpath.example.toml"
DOCS = ROOT / "docs" / "config.md"

SETTING_KEYS = [f.name for f in fields(Settings) if f.name != "mailboxes"]
MAILBOX_KEYS = [f.name for f in fields(MailboxConfig)]


def test_example_config_loads():
    """Scenario: the example file passes the same validation as a real config."""
    settings = load_settings(EXAMPLE, env={})
    assert [m.name for m in settings.mailboxes] == ["bounces", "legacy"]
    assert settings.mailbox("legacy").flags_only


@pytest.mark.parametrize("key", SETTING_KEYS + MAILBOX_KEYS)
def test_every_key_documented(key):
    """Scenario: each settings field has a row in docs/config.md."""
    assert re.search(rf"^\| `{key}` \|", DOCS.read_text(), re.M), f"{key} missing from docs"


@pytest.mark.parametrize("key", SETTING_KEYS + MAILBOX_KEYS)
def test_every_key_in_example(key):
    """Scenario: each settings field appears in the example file (set or commented out)."""
    assert re.search(rf"^#? ?{key} = ", EXAMPLE.read_text(), re.M), f"{key} missing from example"
