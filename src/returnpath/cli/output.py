"""Tables for the database commands: rich on a terminal, plain aligned text otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

import typer


def is_terminal() -> bool:
    return sys.stdout.isatty()


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


def print_table(
    title: str | None, headers: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """One table; a `float` cell is shown as a percentage."""
    if is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(cell(v) for v in row))
        Console().print(table)
        return
    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    if title:
        typer.echo(title)
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in text_rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
