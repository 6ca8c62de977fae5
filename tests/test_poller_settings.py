"""Mailbox settings the IMAP source checks before connecting: TLS policy, CA file, password."""

from __future__ import annotations

from pathlib import Path

import pytest

from returnpath.config import MailboxConfig
from returnpath.poller.imap import check_config, is_loopback, read_password
from returnpath.poller.mailbox import MailboxConfigError


def mailbox(**overrides: object) -> MailboxConfig:
    values: dict[str, object] = {"name": "m", "host": "imap.example.net", "username": "u"}
    values.update(overrides)
    return MailboxConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("10.0.0.1", False), ("imap.example.net", False)],
)
def test_loopback_hosts(host, loopback):
    """Scenario: only loopback addresses and localhost count as loopback."""
    assert is_loopback(host) is loopback


def test_plaintext_allowed_to_loopback_only():
    """Scenario: tls = none is fine to 127.0.0.1, refused to a remote host unless allowed."""
    check_config(mailbox(host="127.0.0.1", tls="none"))
    with pytest.raises(MailboxConfigError, match="allow_plaintext"):
        check_config(mailbox(tls="none"))
    check_config(mailbox(tls="none", allow_plaintext=True))


def test_missing_ca_file_is_refused(tmp_path: Path):
    """Scenario: a ca_file that does not exist is reported before any connection."""
    with pytest.raises(MailboxConfigError, match="ca_file"):
        check_config(mailbox(ca_file=str(tmp_path / "nope.pem")))


def test_password_from_env(monkeypatch):
    """Scenario: password_env names the variable that holds the password."""
    monkeypatch.setenv("RP_TEST_IMAP_PW", "s3cret")
    assert read_password(mailbox(password_env="RP_TEST_IMAP_PW")) == "s3cret"
    monkeypatch.delenv("RP_TEST_IMAP_PW")
    with pytest.raises(MailboxConfigError, match="RP_TEST_IMAP_PW"):
        read_password(mailbox(password_env="RP_TEST_IMAP_PW"))


def test_password_from_file_first_line(tmp_path: Path):
    """Scenario: password_file gives its first line, without the newline."""
    path = tmp_path / "pw"
    path.write_text("s3cret \nsecond line\n")
    assert read_password(mailbox(password_file=str(path))) == "s3cret "
    with pytest.raises(MailboxConfigError, match="password_file"):
        read_password(mailbox(password_file=str(tmp_path / "missing")))


def test_password_required():
    """Scenario: neither password_env nor password_file: a clear error naming both."""
    with pytest.raises(MailboxConfigError, match="password_env or password_file"):
        read_password(mailbox())
