"""Running `returnpath run` as a real child process in tests, and looking at what it did.

Each service is started in its own session and stopped by its PID (SIGTERM, then SIGKILL of
its process group when it does not exit in time). It logs JSON lines to a file the test reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from returnpath.config import ConfigError, load_settings
from support.imap_base import ImapTestServer

_RUN = "import sys; from returnpath.cli import main; sys.exit(main())"


def returned_message(n: int, tag: str) -> bytes:
    """An RFC 3464 hard bounce for one recipient, with its own Message-ID."""
    boundary = f"=_bnd{n}{tag}"
    rcpt = f"user{n}-{tag}@example.org"
    return (
        f"Return-Path: <>\r\n"
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: bounces@sender.example.com\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <bounce-{tag}-{n}@mx.example.net>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f" boundary=\"{boundary}\"\r\n"
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered to {rcpt}.\r\n"
        f"\r\n--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n"
        f"\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\n"
        f"Action: failed\r\n"
        f"Status: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: "
        f"User unknown\r\n"
        f"\r\n--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: news@sender.example.com\r\n"
        f"To: {rcpt}\r\n"
        f"Message-ID: <original-{tag}-{n}@sender.example.com>\r\n"
        f"Subject: News\r\n"
        f"\r\n--{boundary}--\r\n"
    ).encode()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string here


def _config_takes_int_port(tmp: Path) -> bool:
    # config.py's checker types a key by its default, and `port` defaults to None, which it
    # takes for a string: `port = 143` is then refused. Until that is fixed, a string port
    # (which the socket layer accepts) keeps these tests about the service, not the config.
    probe = tmp / "port-probe.toml"
    probe.write_text('[[mailbox]]\nname = "p"\nhost = "127.0.0.1"\nusername = "u"\nport = 143\n')
    try:
        load_settings(probe, env={})
    except ConfigError:
        return False
    finally:
        probe.unlink()
    return True


def write_config(path: Path, top: dict[str, Any], mailboxes: list[dict[str, Any]]) -> Path:
    """Write a TOML config file: top-level keys, then one [[mailbox]] table per dict."""
    int_port = _config_takes_int_port(path.parent)
    lines = [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    for mb in mailboxes:
        lines.append("\n[[mailbox]]")
        for k, v in mb.items():
            value = str(v) if k == "port" and not int_port else v
            lines.append(f"{k} = {_toml_value(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


class ServiceProcess:
    """One `returnpath run` child process (JSON logs unless log_format says otherwise)."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None,
                 log_format: str | None = "json") -> None:
        self.config = config
        self.log = log
        self.log_format = log_format
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _RUN, "run", "--config", str(self.config),
                 *(["--log-format", self.log_format] if self.log_format else [])],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines, optionally only those with event == name."""
        out = []
        for line in self.log_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and (name is None or item.get("event") == name):
                out.append(item)
        return out

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait (bounded) until check() is true; fail with the log if the process died."""
        deadline = time.monotonic() + timeout
        while not check():
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"service exited (rc={self.proc.returncode}) before {what}:\n"
                            f"{self.log_text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}:\n"
                            f"{self.log_text()[-4000:]}")
            time.sleep(0.1)

    def terminate(self, timeout: float = 60.0, sig: int = signal.SIGTERM) -> int:
        """Signal by PID (SIGTERM) and wait; returns the exit code (fails the test on a hang)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"service did not exit within {timeout}s of SIGTERM:\n"
                        f"{self.log_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the process group (cleanup)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


@pytest.fixture
def service_processes() -> Iterator[list[ServiceProcess]]:
    """Register started services here; any still running at teardown are killed by PID."""
    procs: list[ServiceProcess] = []
    yield procs
    for proc in procs:
        proc.kill()


def _strip_id(value: str | None) -> str | None:
    return value.strip().strip("<>") if value else value


def recorded(url: str) -> list[dict[str, Any]]:
    """Every message row: its Message-ID (no brackets), kind, and how many events it has."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT m.id, m.message_id, m.kind, m.uid, "
                "(SELECT count(*) FROM events e WHERE e.message_id = m.id) "
                "FROM messages m ORDER BY m.id"
            )).all()
    except Exception as exc:  # the schema is created by the service: not there yet
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return []
        raise
    finally:
        engine.dispose()
    return [
        {"id": r[0], "message_id": _strip_id(r[1]), "kind": r[2], "uid": r[3], "events": r[4]}
        for r in rows
    ]


def folder_message_ids(server: ImapTestServer, folder: str) -> list[str]:
    """The Message-IDs (no brackets) of the messages in folder ([] when it does not exist)."""
    with server.client() as c:
        if not c.folder_exists(folder):
            return []
        c.select_folder(folder, readonly=True)
        uids = c.search("ALL")
        if not uids:
            return []
        out = []
        for data in c.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values():
            header = next(v for k, v in data.items() if k.startswith(b"BODY[HEADER"))
            value = header.decode(errors="replace").split(":", 1)[1]
            out.append(_strip_id(value) or "")
        return sorted(out)


def mailbox_table(server: ImapTestServer, **overrides: Any) -> dict[str, Any]:
    """A [[mailbox]] table for the server's plain port (loopback, so plaintext is allowed)."""
    values = server.mailbox_settings(tls="none", name="bounces", **overrides)
    return values
