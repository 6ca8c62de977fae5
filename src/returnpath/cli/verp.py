"""`returnpath verp encode|verify`: signed return-path tokens from the command line.

The secret never comes from the command line: it is read from the config file's
`verp_secret_env` (the name of an environment variable) or `verp_secret`, or from
$RETURNPATH_VERP_SECRET.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from returnpath.cli.app import fail, verp_app
from returnpath.cli.options import config_option, settings_from_cli
from returnpath.config import ConfigError
from returnpath.model import VerpState
from returnpath.parsers import verp


def _secret(config: Path | None) -> bytes:
    settings = settings_from_cli(config, None)
    try:
        key = settings.verp_key()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if not key:
        raise fail(
            "no VERP secret configured: set verp_secret_env (or verp_secret) in the config "
            "file, or RETURNPATH_VERP_SECRET"
        )
    return key


@verp_app.command("encode")
def encode(
    recipient: Annotated[str, typer.Argument(help="The recipient address to sign.")],
    domain: Annotated[str, typer.Option("--domain", help="Domain of the return-path address.")],
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id to sign in.")
    ] = None,
    local: Annotated[str, typer.Option("--local", help="Local part before the '+'.")] = "bounces",
    config: config_option = None,
) -> None:
    """Print the signed return-path address (local+TOKEN@domain) for RECIPIENT."""
    try:
        address = verp.encode(
            recipient, _secret(config), campaign=campaign, local=local, domain=domain
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(address)


@verp_app.command("verify")
def verify(
    address: Annotated[
        str, typer.Argument(help="A return-path address, e.g. bounces+TOKEN@domain.")
    ],
    config: config_option = None,
) -> None:
    """Check a return-path address's token: prints state, recipient and campaign as JSON.

    Exit 0 when the token is valid, 1 when it is invalid or absent.
    """
    token = verp.verify(address, _secret(config))
    typer.echo(json.dumps({
        "state": token.state.value, "recipient": token.recipient, "campaign": token.campaign,
    }))  # fmt: skip
    if token.state is not VerpState.VALID:
        raise typer.Exit(1)
