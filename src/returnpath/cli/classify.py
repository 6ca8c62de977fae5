"""`returnpath classify`: parse files, directories and mbox files without touching a database."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from returnpath.cli.app import app, fail
from returnpath.config import ConfigError, load_settings
from returnpath.model import ParseResult
from returnpath.parsers import ParseOptions, parse
from returnpath.poller.files import FilesMailbox, FileSourceError, is_mbox_file


class OutputFormat(StrEnum):
    JSONL = "jsonl"
    JSON = "json"
    TABLE = "table"


#: The keys of one output object, in order (DESIGN.md §6).
KEYS = (
    "file", "recipient", "category", "reason", "status", "reply_code", "action", "diagnostic",
    "remote_mta", "rule", "original_message_id", "feedback_type", "verp",
)  # fmt: skip


TABLE_KEYS = ("file", "recipient", "category", "reason", "status", "rule")


def result_rows(name: str, result: ParseResult) -> list[dict[str, str | None]]:
    """One output object per recipient; one `unknown` object when nothing was recognised."""
    rows: list[dict[str, str | None]] = []
    for d in result.deliveries:
        verdict = d.verdict
        rows.append({
            "file": name,
            "recipient": d.recipient,
            "category": verdict.category.value if verdict else "unknown",
            "reason": verdict.reason.value if verdict else None,
            "status": d.status,
            "reply_code": d.reply_code,
            "action": d.action.value or None,
            "diagnostic": d.diagnostic,
            "remote_mta": d.remote_mta,
            "rule": verdict.rule if verdict else None,
            "original_message_id": d.original_message_id or result.original_message_id,
            "feedback_type": d.feedback_type,
            "verp": result.verp.value,
        })  # fmt: skip
    if not rows:
        rows.append(dict.fromkeys(KEYS) | {
            "file": name, "category": "unknown", "verp": result.verp.value,
            "original_message_id": result.original_message_id,
        })  # fmt: skip
    return rows


def classify_paths(paths: list[Path], options: ParseOptions) -> Iterator[dict[str, str | None]]:
    """Rows for every message under the arguments, read as `backfill files` reads them.

    A message is named by its path as given for a file argument, or relative to a directory
    argument; the messages of an mbox file are named FILE#N.
    """
    for arg in paths:
        counts: dict[str, int] = {}
        for raw in FilesMailbox([arg]).fetch_new():
            path = Path(raw.path or arg)
            name = str(path.relative_to(arg)) if arg.is_dir() else str(arg)
            if is_mbox_file(path):
                counts[name] = counts.get(name, 0) + 1
                name = f"{name}#{counts[name]}"
            yield from result_rows(name, parse(raw.data, options))


@app.command()
def classify(
    paths: Annotated[
        list[Path], typer.Argument(help="Files, directories (recursive) or mbox files.")
    ],
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.JSONL
    ),
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (for the VERP secret).")
    ] = None,
) -> None:
    """Classify returned mail and print one result per (message, recipient).

    Directories are read as `backfill files` reads them (recursively: .eml files, mbox files,
    Maildirs; other files are skipped); a file named on the command line is always read.
    Messages in an mbox file are named FILE#N. Exit 0 when it ran, even if nothing was
    recognised; 2 when a path cannot be read.
    """
    try:
        settings = load_settings(config)
        options = ParseOptions(
            verp_secret=settings.verp_key(),
            correlation_headers=(settings.campaign_header, settings.contact_header),
        )
    except ConfigError as exc:
        raise fail(str(exc)) from None
    for path in paths:
        if not os.access(path, os.R_OK):
            reason = "cannot be read" if path.exists() else "no such file or directory"
            raise fail(f"{path}: {reason}")
    rows = classify_paths(paths, options)
    try:
        if output is OutputFormat.JSONL:
            for row in rows:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif output is OutputFormat.JSON:
            json.dump(list(rows), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
        else:
            _print_table(list(rows))
    except BrokenPipeError:
        raise
    except FileSourceError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{exc.filename or ''}: {exc.strerror or exc}") from None


def _print_table(rows: list[dict[str, str | None]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*TABLE_KEYS)
    for row in rows:
        table.add_row(*(row[k] or "" for k in TABLE_KEYS))
    Console().print(table)
