"""The Typer application and its command groups; command modules attach to these."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="returnpath",
    help="Read a return-path mailbox and record, per recipient, what each returned message means.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
verp_app = typer.Typer(
    help="Encode and verify signed VERP return-path tokens.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
contacts_app = typer.Typer(help="Look at and re-enable contacts.", no_args_is_help=True)
backfill_app = typer.Typer(
    help="One-shot runs over old mail (files or IMAP).", no_args_is_help=True
)
suppressions_app = typer.Typer(help="Export the suppression list.", no_args_is_help=True)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
messages_app = typer.Typer(
    help="Look at recorded returned messages: why each verdict was made.", no_args_is_help=True
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"returnpath {version('returnpath')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    """Read a return-path mailbox and record, per recipient, what each returned message means."""


app.add_typer(verp_app, name="verp")
app.add_typer(db_app, name="db")
app.add_typer(contacts_app, name="contacts")
app.add_typer(backfill_app, name="backfill")
app.add_typer(suppressions_app, name="suppressions")
app.add_typer(config_app, name="config")
app.add_typer(messages_app, name="messages")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear line on stderr and return the Exit to raise."""
    typer.echo(f"returnpath: {message}", err=True)
    return typer.Exit(code)
