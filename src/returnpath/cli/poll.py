"""Commands: `poll --once` (one pass over the configured mailboxes) and `config check`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from returnpath.cli.app import app, config_app, fail
from returnpath.cli.backfill import log_format_option, print_summaries, settings_and_logging
from returnpath.cli.options import config_option, database_option, open_store_from_cli
from returnpath.config import ConfigError, Settings, load_settings
from returnpath.poller.imap import ImapMailbox, check_config, read_password
from returnpath.poller.mailbox import PollerError
from returnpath.poller.runner import PollAborted, RunSummary, parse_options_for, run_mailbox


@app.command("poll")
def poll(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over each mailbox, then exit.")
    ] = False,
    mailbox: Annotated[
        list[str] | None,
        typer.Option("--mailbox", "-m", help="Only this mailbox (repeatable); default: all."),
    ] = None,
    config: config_option = None,
    database: database_option = None,
    log_format: log_format_option = None,
) -> None:
    """Poll the configured mailboxes once, record what returned, and move it."""
    if not once:
        raise fail("poll runs one pass and needs --once; the scheduled service is "
                   "`returnpath run`", 2)
    settings = settings_and_logging(config, database, log_format)
    try:
        chosen = [settings.mailbox(n) for n in mailbox] if mailbox else list(settings.mailboxes)
        options = parse_options_for(settings)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if not chosen:
        raise fail("no mailbox configured: add a [[mailbox]] table to the config file", 2)
    store = open_store_from_cli(config, database)
    summaries: list[RunSummary] = []
    failed: list[str] = []
    try:
        for mb in chosen:
            try:
                with ImapMailbox(mb, store) as box:
                    summaries.append(run_mailbox(box, store, options))
            except PollAborted as exc:
                raise fail(str(exc), 2) from None
            except PollerError as exc:
                typer.echo(f"returnpath: {exc}", err=True)
                failed.append(mb.name)
    finally:
        store.close()
    if summaries:
        print_summaries(summaries, "poll")
    if failed:
        raise typer.Exit(1)


@config_app.command("check")
def config_check(
    config: config_option = None,
    database: database_option = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Validate only; do not connect to anything.")
    ] = False,
) -> None:
    """Validate the config file, then try the database and each IMAP mailbox."""
    try:
        settings = load_settings(config, database_url=database)
        settings.verp_key()
        for mb in settings.mailboxes:
            check_config(mb)
            read_password(mb)
    except (ConfigError, PollerError) as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"config: ok ({len(settings.mailboxes)} mailbox(es))")
    if offline:
        return
    problems = 0
    problems += _check_database(settings.database_url, settings)
    for mb in settings.mailboxes:
        # One attempt, no backoff: an operator wants the answer now.
        quick = dataclasses.replace(mb, reconnect_attempts=0)
        where = f"{mb.host}:{mb.port or (993 if mb.tls == 'implicit' else 143)} tls={mb.tls}"
        try:
            status = ImapMailbox(quick).check()
        except PollerError as exc:
            typer.echo(f"mailbox {mb.name}: FAILED ({where}): {getattr(exc, 'detail', exc)}")
            problems += 1
            continue
        typer.echo(
            f"mailbox {mb.name}: ok ({where}; {mb.folder}: {status['messages']} messages, "
            f"UIDVALIDITY {status['uidvalidity']}, MOVE {'yes' if status['move'] else 'no'})"
        )
    if problems:
        raise typer.Exit(2)


def _check_database(url: str, settings: Settings) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from returnpath.storage import SchemaOutdated, StorageError, open_store

    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not Path(path).exists():
            # Opening it would leave an empty file behind; the first real command creates it.
            typer.echo(f"database: ok (SQLite file {path} does not exist yet; "
                       "created on first use)")
            return 0
    try:
        store = open_store(url, settings=settings, upgrade=False)
    except SchemaOutdated as exc:
        typer.echo(f"database: reachable; {exc}")
        return 0
    except StorageError as exc:
        typer.echo(f"database: FAILED: {exc}")
        return 1
    store.close()
    typer.echo("database: ok")
    return 0


__all__ = ["config_check", "poll"]
