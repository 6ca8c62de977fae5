"""`returnpath run` as a real process against a real IMAP server: IDLE, SIGTERM, two instances."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support.imap_base import ImapTestServer
from support.service_procs import (
    ServiceProcess,
    folder_message_ids,
    mailbox_table,
    recorded,
    returned_message,
    write_config,
)
from support.service_procs import service_processes as service_processes  # fixture

pytestmark = pytest.mark.imap


def _has_idle(server: ImapTestServer) -> bool:
    with server.client() as c:
        return bool(c.has_capability("IDLE"))


def _polls(proc: ServiceProcess) -> list[dict]:
    return [e for e in proc.events("poll") if e.get("mailbox") == "bounces"]


def test_run_without_mailboxes_exits_2(tmp_path: Path):
    """Scenario: a config with no [[mailbox]] is refused with one line and exit code 2."""
    cfg = write_config(tmp_path / "rp.toml",
                       {"database_url": f"sqlite:///{tmp_path / 'rp.db'}"}, [])
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from returnpath.cli import main; sys.exit(main())",
         "run", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "no [[mailbox]]" in done.stderr


def _start_idling_service(server: ImapTestServer, tmp_path: Path,
                          service_processes: list[ServiceProcess]) -> tuple[str, ServiceProcess]:
    """A service with an hour-long poll interval, once it is in IDLE after its start-up poll."""
    if not _has_idle(server):
        pytest.skip(f"{server.kind} does not offer IDLE")
    url = f"sqlite:///{tmp_path / 'rp.db'}"
    cfg = write_config(tmp_path / "rp.toml", {"database_url": url},
                       [mailbox_table(server, poll_interval_seconds=3600)])
    proc = ServiceProcess(cfg, tmp_path / "service.log").start()
    service_processes.append(proc)
    proc.wait_for("IDLE and the start-up poll",
                  lambda: bool(proc.events("idle_start")) and bool(_polls(proc)))
    return url, proc


def test_idle_wakes_the_poll(clean_imap_server: ImapTestServer, tmp_path: Path,
                             service_processes: list[ServiceProcess]):
    """Scenario: with an hour-long poll interval, mail appended during IDLE is recorded at once."""
    server = clean_imap_server
    url, proc = _start_idling_service(server, tmp_path, service_processes)
    assert recorded(url) == []

    server.append("INBOX", returned_message(1, "idle"))
    proc.wait_for("the appended message to be recorded", lambda: len(recorded(url)) == 1)
    proc.wait_for("the message to be moved", lambda: server.uids("INBOX") == [])

    assert proc.events("idle_wake"), "the poll was not started by IDLE"
    assert proc.terminate() == 0
    assert [r["message_id"] for r in recorded(url)] == ["bounce-idle-1@mx.example.net"]
    assert folder_message_ids(server, "Processed") == ["bounce-idle-1@mx.example.net"]


def test_sigterm_during_a_poll_exits_0_with_nothing_half_done(
    clean_imap_server: ImapTestServer, tmp_path: Path,
    service_processes: list[ServiceProcess],
):
    """Scenario: SIGTERM mid-poll: exit 0; every recorded message whole and moved, the rest left."""
    server = clean_imap_server
    total = 40
    server.append_many("INBOX", [returned_message(n, "term") for n in range(total)])
    url = f"sqlite:///{tmp_path / 'rp.db'}"
    cfg = write_config(tmp_path / "rp.toml", {"database_url": url},
                       [mailbox_table(server, poll_interval_seconds=3600, batch_size=5)])
    # Each record waits a little, so the poll is surely still running when the signal lands.
    proc = ServiceProcess(cfg, tmp_path / "service.log",
                          env={"RETURNPATH_TEST_RECORD_DELAY": "0.2"}).start()
    service_processes.append(proc)
    proc.wait_for("a few messages to be recorded", lambda: len(recorded(url)) >= 3)

    assert proc.terminate() == 0

    rows = recorded(url)
    assert 0 < len(rows) < total, "the poll should have been stopped part-way"
    assert all(r["kind"] == "dsn" and r["events"] == 1 for r in rows), rows
    recorded_ids = sorted(r["message_id"] for r in rows)
    moved = folder_message_ids(server, "Processed") + folder_message_ids(server, "Unparsed")
    assert sorted(moved) == recorded_ids
    left = folder_message_ids(server, "INBOX")
    assert len(left) == total - len(rows)
    assert not set(left) & set(recorded_ids)
    last = _polls(proc)[-1]
    assert last["stopped"] is True
    assert last["recorded"] == len(rows)


@pytest.mark.postgres
def test_two_instances_on_postgresql_record_each_message_once(
    clean_imap_server: ImapTestServer, fresh_pg_database: str, tmp_path: Path,
    service_processes: list[ServiceProcess],
):
    """Scenario: two services share one PostgreSQL and one mailbox: each message recorded once."""
    server = clean_imap_server
    total = 30
    server.append_many("INBOX", [returned_message(n, "pg") for n in range(total)])
    cfg = write_config(tmp_path / "rp.toml", {"database_url": fresh_pg_database},
                       [mailbox_table(server, poll_interval_seconds=1, batch_size=5)])
    # The database is empty: both instances create the schema as they start.
    env = {"RETURNPATH_TEST_RECORD_DELAY": "0.05"}
    procs = [
        ServiceProcess(cfg, tmp_path / f"service-{i}.log", env=env).start() for i in (1, 2)
    ]
    service_processes.extend(procs)
    procs[0].wait_for("every message to be recorded",
                      lambda: len(recorded(fresh_pg_database)) == total)
    procs[0].wait_for("INBOX to be emptied", lambda: server.uids("INBOX") == [])
    # Let both instances finish their current pass before stopping them.
    for proc in procs:
        assert proc.terminate() == 0

    rows = recorded(fresh_pg_database)
    assert sorted(r["message_id"] for r in rows) == sorted(
        f"bounce-pg-{n}@mx.example.net" for n in range(total)
    )
    assert all(r["events"] == 1 for r in rows)
    polls = [p for proc in procs for p in _polls(proc)]
    # Each message was taken by exactly one instance: no pass ever met another's message.
    assert sum(p["recorded"] for p in polls) == total
    assert sum(p["duplicates"] for p in polls) == 0
    assert sum(p["errors"] for p in polls) == 0
    assert len(folder_message_ids(server, "Processed")) == total


def test_idle_watcher_reconnects_after_the_server_dies(
    fresh_imap_server: ImapTestServer, tmp_path: Path,
    service_processes: list[ServiceProcess],
):
    """Scenario: the IMAP server is killed and restarted: the watcher reconnects and IDLE works."""
    server = fresh_imap_server
    url, proc = _start_idling_service(server, tmp_path, service_processes)

    server.kill_hard()
    proc.wait_for("the watcher to notice", lambda: bool(proc.events("idle_reconnect")))
    server.start()
    proc.wait_for("IDLE again", lambda: len(proc.events("idle_start")) >= 2)
    server.append("INBOX", returned_message(1, "reconnect"))
    proc.wait_for("the message to be recorded", lambda: len(recorded(url)) == 1)

    assert proc.terminate() == 0
    assert [r["message_id"] for r in recorded(url)] == ["bounce-reconnect-1@mx.example.net"]


def test_default_keyvalue_logs_and_sigint(clean_imap_server: ImapTestServer, tmp_path: Path,
                                          service_processes: list[ServiceProcess]):
    """Scenario: without --log-format the service logs key=value lines; SIGINT stops it with 0."""
    server = clean_imap_server
    server.append("INBOX", returned_message(1, "kv"))
    url = f"sqlite:///{tmp_path / 'rp.db'}"
    cfg = write_config(tmp_path / "rp.toml", {"database_url": url},
                       [mailbox_table(server, poll_interval_seconds=3600)])
    proc = ServiceProcess(cfg, tmp_path / "service.log", log_format=None).start()
    service_processes.append(proc)
    proc.wait_for("the start-up poll", lambda: " event=poll mailbox=bounces " in proc.log_text())

    assert proc.terminate(sig=signal.SIGINT) == 0
    poll_line = next(line for line in proc.log_text().splitlines() if " event=poll " in line)
    assert " seen=1 recorded=1 " in poll_line
    assert proc.events() == [], "no JSON lines expected in key=value mode"
    assert len(recorded(url)) == 1
