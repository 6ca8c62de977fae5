"""`returnpath messages list` and `returnpath messages show`: the recorded returned mail itself,
so an operator can see why a verdict was made and review what was not recognised.

The decoded view of a message is made with mail-parser from the stored raw bytes. It shows
the notification as a person would read it; the verdicts come from the events, which parse()
wrote when the message was recorded.
"""

from __future__ import annotations

import email.message
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from returnpath.cli.activity import SINCE_HELP
from returnpath.cli.app import fail, messages_app
from returnpath.cli.options import (
    config_option,
    database_option,
    open_store_from_cli,
    when_option_value,
)
from returnpath.cli.output import cell, print_table
from returnpath.model import Category, MessageKind
from returnpath.parsers.message import decode_header_value, html_to_text

if TYPE_CHECKING:
    from returnpath.storage.messages import MessageSummary, MessageView

#: Characters of the notification's text shown by `messages show`; --raw gives everything.
BODY_LIMIT = 4000


class ListFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


class ShowFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


# -- list -------------------------------------------------------------------------------------


@messages_app.command("list")
def list_command(
    category: Annotated[
        Category | None,
        typer.Option(
            "--category", help="Only messages with an event of this category.", show_default=False
        ),
    ] = None,
    kind: Annotated[
        MessageKind | None,
        typer.Option("--kind", help="Only messages of this kind.", show_default=False),
    ] = None,
    unparsed: Annotated[
        bool,
        typer.Option("--unparsed", help="Only messages in which nothing was recognised."),
    ] = False,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
    output: Annotated[ListFormat, typer.Option("--format", help="table or jsonl.")] = (
        ListFormat.TABLE
    ),
    database: database_option = None,
    config: config_option = None,
) -> None:
    """Recorded returned messages, newest first: one line each, with the first verdict."""
    from returnpath.storage import list_messages

    since_at = when_option_value(since, "--since")
    store = open_store_from_cli(config, database)
    try:
        with store.engine.connect() as conn:
            found = list_messages(
                conn,
                category=category.value if category else None,
                kind=kind.value if kind else None,
                unparsed=unparsed,
                since=since_at,
                limit=limit,
            )
    finally:
        store.close()
    if output is ListFormat.JSONL:
        for summary in found:
            typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    print_table(
        None,
        ["id", "received", "mailbox", "kind", "rcpts", "category", "reason", "subject"],
        [
            (m.id, m.received_at, _mailbox(m), m.kind, m.recipients,
             m.first_category or "(none)", m.first_reason, _short(m.subject, 50))
            for m in found
        ],
    )  # fmt: skip
    if not found:
        typer.echo("no messages", err=True)


def _mailbox(m: MessageSummary | MessageView) -> str:
    if m.path:  # a backfill over files: the file says more than its directory
        return m.path
    return f"{m.source}/{m.folder}" if m.folder else m.source


# -- show -------------------------------------------------------------------------------------


@messages_app.command("show")
def show_command(
    message_id: Annotated[
        int,
        typer.Argument(
            metavar="ID", help="The message id (see `messages list`, or the feed's message column)."
        ),
    ],
    raw: Annotated[
        bool,
        typer.Option("--raw", help="Print the original bytes unchanged (to save as .eml)."),
    ] = False,
    output: Annotated[ShowFormat, typer.Option("--format", help="text or json.")] = (
        ShowFormat.TEXT
    ),
    database: database_option = None,
    config: config_option = None,
) -> None:
    """One recorded message: its key, every verdict read from it, and the mail decoded."""
    from returnpath.storage import MessageNotFound, message_view

    store = open_store_from_cli(config, database)
    try:
        with store.engine.connect() as conn:
            try:
                view = message_view(conn, message_id)
            except MessageNotFound as exc:
                raise fail(str(exc), 1) from None
        data = store.raw_bytes(message_id) if view.raw_stored else None
    finally:
        store.close()
    if raw:
        if data is None:
            raise fail(f"message {message_id} was recorded without its raw bytes "
                       "(store_raw = false): there is nothing to print", 1)  # fmt: skip
        stream = typer.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    mail = decode_mail(data) if data is not None else None
    if output is ShowFormat.JSON:
        document = view.as_dict()
        document["mail"] = mail.as_dict() if mail else None
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    _print_view(view)
    typer.echo("")
    if mail is None:
        typer.echo("Mail: not available: this message was recorded without its raw bytes "
                   "(store_raw = false).")  # fmt: skip
    else:
        _print_mail(mail)


def _print_view(view: MessageView) -> None:
    if view.unparsed:
        typer.echo(f"message {view.id}: UNPARSED (nothing recognised; kept for review)")
    else:
        typer.echo(f"message {view.id}")
    if view.source == "file" and view.uid is None:
        typer.echo(f"  key:          file {view.path or view.folder} (by content: sha256)")
    else:
        typer.echo(f"  key:          source {view.source}, folder {view.folder}, "
                   f"uidvalidity {cell(view.uidvalidity)}, uid {cell(view.uid)}")  # fmt: skip
        if view.path:
            typer.echo(f"  file:         {view.path}")
    typer.echo(f"  message-id:   {cell(view.message_id)}")
    typer.echo(f"  received:     {cell(view.received_at)} UTC (recorded {cell(view.recorded_at)})")
    typer.echo(f"  size:         {view.size} bytes")
    typer.echo(f"  kind:         {view.kind}" + (f" (format {view.format})" if view.format else ""))
    typer.echo(f"  verp:         {view.verp}")
    typer.echo(f"  sha256:       {view.sha256}")
    typer.echo(f"  defects:      {', '.join(view.defects) if view.defects else 'none'}")
    typer.echo("")
    typer.echo(f"Events ({len(view.events)})")
    if not view.events:
        typer.echo("  none: no recipient or verdict was read from this message")
    for e in view.events:
        typer.echo(f"  event {e.id}: {e.recipient or '(no recipient)'}")
        verdict = e.category + (f" / {e.reason}" if e.reason else "")
        typer.echo(f"    verdict:    {verdict} (rule {cell(e.rule)})")
        typer.echo(f"    status:     {cell(e.status)}, reply code {cell(e.reply_code)}, "
                   f"action {cell(e.action)}")  # fmt: skip
        if e.remote_mta:
            typer.echo(f"    remote MTA: {e.remote_mta}")
        if e.feedback_type:
            typer.echo(f"    feedback:   {e.feedback_type}")
        typer.echo(f"    diagnostic: {cell(e.diagnostic)}")
        typer.echo(f"    trusted:    {'yes' if e.trusted else 'no (changes no contact)'}")


def _print_mail(mail: DecodedMail) -> None:
    typer.echo("Mail (decoded with mail-parser)")
    if mail.error:
        typer.echo(f"  mail-parser could not decode it: {mail.error} (--raw shows the bytes)")
        return
    typer.echo(f"  From:         {mail.from_ or '-'}")
    typer.echo(f"  To:           {mail.to or '-'}")
    typer.echo(f"  Subject:      {mail.subject or '-'}")
    typer.echo(f"  Date:         {mail.date or '-'}")
    typer.echo("  Parts:")
    for part in mail.parts:
        typer.echo(f"    {_part_line(part)}")
    attachments = [f"{a['name'] or '(no name)'} ({a['type']})" for a in mail.attachments]
    typer.echo(f"  Attachments:  {', '.join(attachments) or 'none'}")
    typer.echo(f"  Parse defects: {'none' if not mail.defects else ''}".rstrip())
    for defect in mail.defects:
        typer.echo(f"    {defect}")
    for note in mail.notes:
        typer.echo(f"  Parser note:  {note}")
    if mail.body is None:
        typer.echo("  Body:         no text part")
        return
    shown = len(mail.body)
    cut = f", first {shown} of {mail.body_chars}" if shown < mail.body_chars else ""
    typer.echo(f"  Body ({mail.body_source}, {mail.body_chars} characters{cut}):")
    for line in mail.body.splitlines():
        typer.echo(f"    {line}".rstrip())
    if shown < mail.body_chars:
        typer.echo(f"    [... {mail.body_chars - shown} more characters: --raw shows it all]")


# -- the decoded mail -------------------------------------------------------------------------


@dataclass
class DecodedMail:
    """What mail-parser reads from the raw bytes, cut to what a person reviews."""

    from_: str = ""
    to: str = ""
    subject: str = ""
    date: str = ""
    body: str | None = None  # the notification's text, at most BODY_LIMIT characters
    body_source: str = ""  # which part the body is from
    body_chars: int = 0  # the whole text's length
    parts: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, str | None]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # mail-parser's own warnings
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_,
            "to": self.to,
            "subject": self.subject,
            "date": self.date,
            "body": self.body,
            "body_source": self.body_source,
            "body_chars": self.body_chars,
            "body_truncated": self.body is not None and len(self.body) < self.body_chars,
            "parts": self.parts,
            "attachments": self.attachments,
            "defects": self.defects,
            "notes": self.notes,
            "error": self.error,
        }


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def decode_mail(data: bytes, *, body_limit: int = BODY_LIMIT) -> DecodedMail:
    """Headers, notification text, parts, attachments and defects as mail-parser sees them.

    Never raises: a message mail-parser cannot read gives `error`.
    """
    import mailparser

    # mail-parser reports some oddities through logging; they belong in the view, not on
    # stderr as stray warnings.
    logger = logging.getLogger("mailparser")
    collect = _Collect()
    logger.addHandler(collect)
    propagate, logger.propagate = logger.propagate, False
    try:
        mp = mailparser.parse_from_bytes(data)
        mail = DecodedMail(
            from_=_printable(_addresses(mp.from_)),
            to=_printable(_addresses(mp.to)),
            subject=_printable(str(mp.subject or "")),
            date=mp.date.isoformat() if isinstance(mp.date, datetime) else str(mp.date or ""),
            parts=_parts(mp.message),
            attachments=[
                {"name": a.get("filename") or None, "type": a.get("mail_content_type") or None}
                for a in mp.attachments
            ],
            defects=[
                f"{part}: {problem}"
                for entry in mp.defects
                for part, problems in entry.items()
                for problem in problems
            ],
        )
        _set_body(mail, mp, body_limit)
    except Exception as exc:  # any bytes at all may be stored; the view must still print
        mail = DecodedMail(error=f"{type(exc).__name__}: {exc}")
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    mail.notes = collect.messages
    return mail


def _set_body(mail: DecodedMail, mp: Any, limit: int) -> None:
    # In a report the first text/plain part is the notification; later ones may be the
    # returned original's text, which says nothing about the verdict.
    if mp.text_plain:
        text, source = str(mp.text_plain[0]), "first text/plain part"
    elif mp.text_html:
        text, source = html_to_text(str(mp.text_html[0])), "HTML part, tags removed"
    elif mp.text_not_managed:
        # A broken multipart: its body as written is what there is to review.
        text, source = str(mp.text_not_managed[0]), "undecoded body"
    else:
        return
    text = _printable(text.replace("\r\n", "\n").strip("\n"))
    mail.body, mail.body_source, mail.body_chars = text[:limit], source, len(text)


#: Control characters other than newline and tab. A returned mail is written by strangers: its
#: escape sequences must not reach the operator's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)


def _addresses(pairs: Any) -> str:
    shown = []
    for name, address in pairs or ():
        shown.append(f"{name} <{address}>" if name else str(address))
    return ", ".join(shown)


def _parts(message: email.message.Message, depth: int = 0) -> list[dict[str, Any]]:
    """The MIME structure, one entry per part in order. A returned original is one part (with
    its Subject), not its insides; delivery-status blocks, which the parser turns into
    pseudo-parts, are not listed."""
    content_type = message.get_content_type()
    name = message.get_filename() or message.get("Content-Description")
    entry: dict[str, Any] = {
        "depth": depth,
        "type": content_type,
        "name": _printable(decode_header_value(name)) if name else None,
    }
    entries = [entry]
    if content_type == "message/rfc822":
        inner = message.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
            entry["subject"] = _printable(decode_header_value(inner[0].get("Subject")))
        return entries
    if message.get_content_maintype() == "multipart" and message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, email.message.Message):
                entries.extend(_parts(part, depth + 1))
    return entries


def _part_line(part: dict[str, Any]) -> str:
    line = "  " * part["depth"] + part["type"]
    if part["name"]:
        line += f' "{part["name"]}"'
    if part.get("subject"):
        line += f" (Subject: {part['subject']})"
    return line


def _short(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
