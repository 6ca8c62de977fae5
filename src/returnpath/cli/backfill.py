"""Commands: `backfill files` and `backfill imap`, one-shot runs of the poller's runner.

Both are resumable and idempotent with the service: the store's unique keys (mailbox UID,
and the sha256 of the bytes) make a second run over the same mail change nothing.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from returnpath.cli.app import backfill_app, fail
from returnpath.cli.options import config_option, database_option, open_store_from_cli
from returnpath.cli.options import settings_from_cli as _settings_from_cli
from returnpath.config import ConfigError, Settings
from returnpath.model import Category, RawMessage
from returnpath.poller.files import FilesMailbox, FileSourceError
from returnpath.poller.logs import setup_logging
from returnpath.poller.mailbox import PollerError
from returnpath.poller.runner import PollAborted, RunSummary, parse_options_for, run_mailbox

log_format_option = Annotated[
    str | None,
    typer.Option(
        "--log-format",
        help="Log lines as keyvalue (default, or the config's log_format) or json.",
        show_default=False,
    ),
]


def settings_and_logging(
    config: Path | None, database: str | None, log_format: str | None, *, quiet: bool = False
) -> Settings:
    """Load the settings and set up the structured logs on stderr; bad config: exit 2."""
    settings = _settings_from_cli(config, database)
    fmt = log_format or settings.log_format
    if fmt not in ("keyvalue", "json"):
        raise fail(f"--log-format: expected keyvalue or json, got {fmt!r}", 2)
    import logging

    setup_logging(fmt, level=logging.WARNING if quiet else logging.INFO)
    return settings


Advance = Callable[[RawMessage, int | None], None]


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Advance | None]:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing is drawn.

    The callback takes the message and, when it became known later, the total.
    """
    if not sys.stderr.isatty():
        yield None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total)

        def advance(_raw: RawMessage, new_total: int | None = None) -> None:
            if new_total is not None:
                bar.update(task, total=new_total)
            bar.advance(task)

        yield advance


def summary_table(summaries: list[RunSummary], title: str) -> Table:
    """Per category, unsubscribed, unparsed, duplicates and errors, one column per mailbox."""
    table = Table(title=title)
    table.add_column("")
    for s in summaries:
        table.add_column(s.mailbox + (" (dry run)" if s.dry_run else ""), justify="right")
    rows: list[tuple[str, Callable[[RunSummary], int]]] = [("messages", lambda s: s.seen)]
    if not all(s.dry_run for s in summaries):
        rows += [("recorded", lambda s: s.recorded), ("already recorded", lambda s: s.duplicates)]
    for category in Category:
        rows.append((f"  {category.value}", functools.partial(_category_count, category)))
    rows += [
        ("unsubscribed", lambda s: s.unsubscribed),
        ("unparsed", lambda s: s.unparsed),
        ("errors", lambda s: s.errors),
    ]
    for label, get in rows:
        table.add_row(label, *(str(get(s)) for s in summaries))
    return table


def _category_count(category: Category, summary: RunSummary) -> int:
    return summary.categories.get(category.value, 0)


def print_summaries(summaries: list[RunSummary], title: str) -> None:
    Console().print(summary_table(summaries, title))


@backfill_app.command("files")
def backfill_files(
    paths: Annotated[
        list[Path],
        typer.Argument(help=".eml files, directories (recursive), mbox files, Maildir folders."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Classify and summarise without writing.")
    ] = False,
    config: config_option = None,
    database: database_option = None,
    log_format: log_format_option = None,
) -> None:
    """Record returned mail from files; running it twice changes nothing."""
    settings = settings_and_logging(config, database, log_format, quiet=True)
    try:
        mailbox = FilesMailbox(list(paths))
        options = parse_options_for(settings)
    except (FileSourceError, ConfigError) as exc:
        raise fail(str(exc), 2) from None
    store = None if dry_run else open_store_from_cli(config, database)
    try:
        total = mailbox.count() if sys.stderr.isatty() else None
        with progress_bar("backfill files", total) as advance:
            summary = run_mailbox(mailbox, store, options, dry_run=dry_run,
                                  progress=(lambda raw: advance(raw, None)) if advance else None)
    except PollAborted as exc:
        raise fail(str(exc), 2) from None
    except FileSourceError as exc:
        raise fail(str(exc), 2) from None
    finally:
        if store is not None:
            store.close()
    print_summaries([summary], "backfill files")
    if summary.errors:
        raise typer.Exit(1)


@backfill_app.command("imap")
def backfill_imap(
    mailbox: Annotated[str, typer.Option("--mailbox", "-m", help="The [[mailbox]] name.")],
    folder: Annotated[
        str | None, typer.Option("--folder", help="Folder to read (default: the mailbox's).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only mail received on or after DATE.")
    ] = None,
    before: Annotated[
        str | None, typer.Option("--before", help="Only mail received before DATE.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after N messages.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Classify and summarise; write and move nothing.")
    ] = False,
    keep_in_place: Annotated[
        bool,
        typer.Option("--keep-in-place", help="Leave the mail where it is (no move, no flag)."),
    ] = False,
    config: config_option = None,
    database: database_option = None,
    log_format: log_format_option = None,
) -> None:
    """Record old mail from an IMAP folder; a second run continues where the first stopped."""
    from returnpath.poller.imap import ImapMailbox

    since_date = _date_option(since, "--since")
    before_date = _date_option(before, "--before")
    settings = settings_and_logging(config, database, log_format)
    try:
        mb = settings.mailbox(mailbox)
        options = parse_options_for(settings)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    store = open_store_from_cli(config, database)
    try:
        # A dry run reads the folder read-only and never moves: the same as keeping in place.
        box = ImapMailbox(mb, store, folder=folder, since=since_date, before=before_date,
                          keep_in_place=keep_in_place or dry_run)
        with box, progress_bar(f"backfill {mb.name}", None) as advance:
            def step(raw: RawMessage) -> None:
                if advance is not None:
                    advance(raw, box.candidates)
            summary = run_mailbox(box, None if dry_run else store, options, dry_run=dry_run,
                                  limit=limit, progress=step)
    except PollAborted as exc:
        raise fail(str(exc), 2) from None
    except PollerError as exc:
        raise fail(str(exc), 2) from None
    finally:
        store.close()
    print_summaries([summary], f"backfill imap {mb.name}/{box.folder}")
    if summary.errors:
        raise typer.Exit(1)


def _date_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: expected a date like 2026-11-01, got {value!r}", 2) from None


__all__ = ["backfill_files", "backfill_imap", "print_summaries", "progress_bar"]
