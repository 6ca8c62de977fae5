"""`returnpath db upgrade` and `returnpath db current`: the schema, managed by Alembic."""

from __future__ import annotations

import typer

from returnpath.cli.app import db_app, fail
from returnpath.cli.options import config_option, database_option, settings_from_cli


@db_app.command("upgrade")
def upgrade_command(database: database_option = None, config: config_option = None) -> None:
    """Create the tables, or upgrade them to this version of returnpath."""
    from returnpath.storage import StorageError, migrate
    from returnpath.storage.store import database_revision, display_url, open_store

    settings = settings_from_cli(config, database)
    try:
        before = database_revision(settings.database_url)
        store = open_store(settings.database_url, settings=settings, upgrade=True)
    except StorageError as exc:
        raise fail(str(exc), 2) from None
    try:
        after = migrate.current_revision(store.engine)
    finally:
        store.close()
    where = display_url(settings.database_url)
    if before == after:
        typer.echo(f"{where}: already at revision {after}")
    else:
        typer.echo(f"{where}: upgraded from {before or 'an empty database'} to revision {after}")


@db_app.command("current")
def current_command(database: database_option = None, config: config_option = None) -> None:
    """Show the schema revision of the database and the one this returnpath expects."""
    from returnpath.storage import StorageError, migrate
    from returnpath.storage.store import database_revision, display_url

    settings = settings_from_cli(config, database)
    try:
        current = database_revision(settings.database_url)
    except StorageError as exc:
        raise fail(str(exc), 2) from None
    head = migrate.head_revision()
    state = "up to date" if current == head else "run `returnpath db upgrade`"
    typer.echo(
        f"{display_url(settings.database_url)}: revision {current or 'none (empty)'}, "
        f"expected {head} ({state})"
    )
