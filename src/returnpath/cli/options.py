"""Options shared by the commands that use the database, and how they open it.

Database URL precedence (highest first): `--database`, `$RETURNPATH_DATABASE_URL`, the config
file's `database_url`, then `sqlite:///returnpath.db` in the working directory.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from returnpath.cli.app import fail
from returnpath.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from returnpath.storage import Store

database_option = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        help="SQLAlchemy database URL (default: $RETURNPATH_DATABASE_URL, the config file, "
        "else sqlite:///returnpath.db in the working directory).",
        show_default=False,
    ),
]
config_option = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file (default: $RETURNPATH_CONFIG, else ./returnpath.toml if present).",
        show_default=False,
    ),
]


def settings_from_cli(config: Path | None, database: str | None) -> Settings:
    """Load the settings, or exit 2 with one line when the config is bad."""
    try:
        return load_settings(config, database_url=database)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def open_store_from_cli(
    config: Path | None, database: str | None, *, upgrade: bool = True
) -> Store:
    """Open (and by default create or upgrade) the database the options point at.

    A bad config, a bad URL or an unreachable database: one clear line on stderr, exit 2.
    """
    from returnpath.storage import StorageError, open_store

    settings = settings_from_cli(config, database)
    try:
        return open_store(settings.database_url, settings=settings, upgrade=upgrade)
    except StorageError as exc:
        raise fail(str(exc), 2) from None


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """A point in time from `2026-11-01`, `2026-11-01T08:30`, or a span back from now (`7d`, `24h`).

    Dates without a zone are UTC. Raises ValueError with a readable message.
    """
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(value)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {value!r} as a time: use a date (2026-11-01), a date and time "
            "(2026-11-01T08:30) or a span back from now (30m, 24h, 7d, 2w)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def when_option_value(value: str | None, option: str) -> datetime | None:
    """parse_when for a command option: None stays None, a bad value exits 2 naming the option."""
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise fail(f"{option}: {exc}", 2) from None
