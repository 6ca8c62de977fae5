"""`returnpath contacts show` and `returnpath contacts reenable`."""

from __future__ import annotations

import getpass
import json
import os
from enum import StrEnum
from typing import Annotated

import typer

from returnpath.cli.app import contacts_app, fail
from returnpath.cli.options import config_option, database_option, open_store_from_cli
from returnpath.cli.output import cell, print_table


class ShowFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@contacts_app.command("show")
def show_command(
    address: Annotated[str, typer.Argument(help="The contact's mail address.")],
    events: Annotated[int, typer.Option("--events", "-n", min=0, help="Latest events shown.")] = 10,
    output: Annotated[ShowFormat, typer.Option("--format", help="text or json.")] = ShowFormat.TEXT,
    database: database_option = None,
    config: config_option = None,
) -> None:
    """Status, counters, history and latest events of one contact."""
    from returnpath.storage import StorageError

    store = open_store_from_cli(config, database)
    try:
        view = store.contact(address, events_limit=events)
    except StorageError as exc:
        raise fail(str(exc), 1) from None
    finally:
        store.close()
    if output is ShowFormat.JSON:
        typer.echo(
            json.dumps(
                {
                    "address": view.address,
                    "status": view.status,
                    "unsubscribe_reason": view.unsubscribe_reason,
                    "unsubscribed_at": _iso(view.unsubscribed_at),
                    "counters": view.counters,
                    "last_event_at": _iso(view.last_event_at),
                    "last_category": view.last_category,
                    "replaced_by": view.replaced_by,
                    "corrected_from": list(view.corrected_from),
                    "history": [
                        {
                            "at": h.at.isoformat(),
                            "change": h.change,
                            "from_status": h.from_status,
                            "to_status": h.to_status,
                            "reason": h.reason,
                            "actor": h.actor,
                            "note": h.note,
                            "event_id": h.event_id,
                            "related_address": h.related_address,
                        }
                        for h in view.history
                    ],
                    "events": [e.as_dict() for e in view.events],
                },
                indent=2,
            )
        )
        return
    status = view.status
    if view.unsubscribe_reason:
        status += f" ({view.unsubscribe_reason}, {cell(view.unsubscribed_at)})"
    typer.echo(f"contact:  {view.address}")
    typer.echo(f"status:   {status}")
    if view.replaced_by:
        typer.echo(f"replaced by: {view.replaced_by}")
    if view.corrected_from:
        typer.echo(f"correction of: {', '.join(view.corrected_from)}")
    typer.echo(f"last event: {cell(view.last_category)} at {cell(view.last_event_at)}")
    typer.echo("")
    print_table("Counters", ["category", "count"], list(view.counters.items()))
    typer.echo("")
    print_table(
        "History",
        ["at", "change", "from", "to", "reason", "actor", "note", "related"],
        [
            (h.at, h.change, h.from_status, h.to_status, h.reason, h.actor, h.note,
             h.related_address)
            for h in view.history
        ],
    )  # fmt: skip
    typer.echo("")
    print_table(
        f"Latest events ({len(view.events)})",
        ["occurred", "category", "reason", "rule", "status", "diagnostic", "trusted"],
        [
            (e.occurred_at, e.category, e.reason, e.rule, e.status, _short(e.diagnostic),
             "yes" if e.trusted else "no")
            for e in view.events
        ],
    )  # fmt: skip


REPUTATION_WARNING = (
    "Mailing an address that hard-bounced harms your sender reputation: receiving providers "
    "count every bounce against your domain and IP address, and keeping dead addresses on a "
    "list is a classic sign of a bought or neglected list that gets mail blocked."
)
STRONG_WARNING = (
    "WARNING: {address} itself will be mailed again. Do this ONLY if you know the address "
    "works now (the recipient confirmed it, or its domain was fixed). If the address was "
    "misspelt, re-enable with --corrected-address instead: the old one then stays suppressed."
)
COMPLAINT_WARNING = (
    "WARNING: {address} was unsubscribed because the recipient complained about your mail. "
    "Mailing them again without their renewed consent invites more complaints, and complaint "
    "rates hurt deliverability for everyone on your list."
)


@contacts_app.command("reenable")
def reenable_command(
    address: Annotated[str, typer.Argument(help="The unsubscribed contact's address.")],
    corrected_address: Annotated[
        str | None,
        typer.Option(
            "--corrected-address",
            help="Subscribe this corrected address instead; the old one stays suppressed.",
            show_default=False,
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", help="Why (kept in the history).", show_default=False)
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor", help="Who is doing this (default: the login name).", show_default=False
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    database: database_option = None,
    config: config_option = None,
) -> None:
    """Re-enable an unsubscribed contact, or replace it by a corrected address."""
    from returnpath.storage import StorageError

    store = open_store_from_cli(config, database)
    try:
        try:
            view = store.contact(address, events_limit=0)
        except StorageError as exc:
            raise fail(str(exc), 1) from None
        if view.status != "unsubscribed":
            raise fail(f"contact {view.address!r} is {view.status}, not unsubscribed: "
                       "nothing to re-enable", 1)  # fmt: skip
        when = cell(view.unsubscribed_at)
        typer.echo(f"{view.address} is unsubscribed ({view.unsubscribe_reason}, since {when}).",
                   err=True)  # fmt: skip
        typer.echo(REPUTATION_WARNING, err=True)
        if corrected_address:
            typer.echo(
                f"{corrected_address} will be subscribed as the corrected address of "
                f"{view.address}, which stays suppressed.",
                err=True,
            )
            question = f"Subscribe {corrected_address} in place of {view.address}?"
        else:
            warning = (
                COMPLAINT_WARNING if view.unsubscribe_reason == "complaint" else STRONG_WARNING
            )
            typer.echo(warning.format(address=view.address), err=True)
            question = f"Re-enable {view.address} itself?"
        if not yes:
            try:
                confirmed = typer.confirm(question, default=False, err=True)
            except typer.Abort:  # end of input: no answer is a no
                typer.echo("", err=True)
                raise fail("no confirmation (pass --yes to skip the prompt): nothing changed",
                           1) from None  # fmt: skip
            if not confirmed:
                raise fail("nothing changed", 1)
        try:
            outcome = store.reenable(
                view.address,
                corrected_address=corrected_address,
                actor=actor or _login_name(),
                note=note,
            )
        except StorageError as exc:
            raise fail(str(exc), 1) from None
    finally:
        store.close()
    if outcome.corrected:
        typer.echo(f"{outcome.subscribed} subscribed (correction of {outcome.address}, which "
                   "stays suppressed)")  # fmt: skip
    else:
        typer.echo(f"{outcome.subscribed} re-enabled")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "operator"


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


def _short(text: str | None, limit: int = 60) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
