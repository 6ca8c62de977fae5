"""`returnpath run`: the long-running poller service (returnpath.poller.service)."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated

import typer

from returnpath.cli.app import app, fail
from returnpath.cli.options import config_option, database_option, settings_from_cli


class LogFormat(StrEnum):
    KEYVALUE = "keyvalue"
    JSON = "json"


@app.command("run")
def run_command(
    config: config_option = None,
    database: database_option = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="Log lines as key=value pairs or JSON objects (default: the config's "
            "log_format, else keyvalue).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Poll every configured mailbox on its schedule (IDLE where offered) until SIGTERM/SIGINT.

    The running poll finishes its current message and commits before the process exits 0.
    """
    from returnpath.poller.logs import setup_logging
    from returnpath.poller.service import Service
    from returnpath.storage import StorageError, open_store

    settings = settings_from_cli(config, database)
    handler = setup_logging(log_format.value if log_format else settings.log_format)
    # The scheduler's own warnings (a skipped overlapping run, a failed job) in the same format.
    scheduler_log = logging.getLogger("apscheduler")
    scheduler_log.addHandler(handler)
    scheduler_log.setLevel(logging.WARNING)
    scheduler_log.propagate = False
    if not settings.mailboxes:
        raise fail("no [[mailbox]] in the configuration: nothing to poll", 2)
    try:
        store = open_store(settings.database_url, settings=settings)
    except StorageError as exc:
        raise fail(str(exc), 2) from None
    try:
        code = Service(settings, store).run_forever()
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
    raise typer.Exit(code)
