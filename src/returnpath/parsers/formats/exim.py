"""Exim's plain-text bounces and delay warnings (also Mail.Ru and other Exim-based systems).

Recognised by the body opening "This message was created automatically by mail delivery
software" (or "...by the SMTP relay on HOST"), together with Exim's list headings "The
following address(es) failed:" or, for a delay warning (Subject "Warning: message ... delayed"),
"has not yet been delivered". Each failed address stands alone on a line indented by two
spaces; the lines indented below it are Exim's explanation, usually "SMTP error from remote
mail server after RCPT TO:<...>: host NAME [IP]: 550 5.1.1 ...". The returned copy starts at
"------ This is a copy of the message" (or is attached as message/rfc822).
"""

from __future__ import annotations

import re

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "exim"

# Exim's own opening line: enough on its own.
_SIGNATURES = (
    "created automatically by mail delivery software",
    "created automatically by the SMTP relay",
)
# Exim's wording that a person could also write: only from a mail system.
_MARKERS = (
    "The following address(es) failed",
    "could not be delivered to one or more of its",
    "has not yet been delivered to one or more of its",
)
_SEPARATORS = (
    "------ This is a copy of the message",
    "------ This is a copy of your message",
    "------ The body of the message is",
    "------ This is a copy of the body of the message",
)
# An address alone on an indented line, optionally followed by "<original>" or "(...)".
_ADDRESS_LINE = re.compile(rf"^( {{1,4}}|\t)<?({_text._ADDR})>?:?(?:\s+[<(].*)?\s*$")
_HOST = re.compile(r"\bhost\s+(\S+)\s+\[([0-9A-Fa-f.:]+)\]:?\s*")
_SMTP_ERROR = re.compile(
    r"SMTP error from remote (?:mail server|mailer) after\s+"
    r"((?:RCPT TO|MAIL FROM|RCPT To|MAIL From)\s*:\s*<[^>]*>[^:]*|[^:]*?):\s*",
    re.I,
)
_GENERATED = re.compile(r"\((?:ultimately )?generated from [^)]*\)\s*", re.I)
_DELAY_PREFIX = re.compile(r"^(?:Delay reason|Reason):\s*", re.I)


def extract(msg: Message) -> Extraction:
    text = msg.text[: _text.TEXT_LIMIT]
    if not any(sig in text for sig in _SIGNATURES) and not (
        any(marker in text for marker in _MARKERS) and _text.from_daemon(msg)
    ):
        return NOT_MINE
    subject = msg.subject
    delayed = "has not yet been delivered" in text or (
        subject.startswith("Warning: message") and "delayed" in subject
    )
    notice = _text.cut(text, _SEPARATORS)
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries: list[Delivery] = []
    for recipient, lines in _blocks(notice):
        deliveries.append(
            _delivery(recipient, lines, Action.DELAYED if delayed else Action.FAILED, message_id)
        )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))


def _blocks(notice: str) -> list[tuple[str, list[str]]]:
    """(address, explanation lines) for each indented address and the lines indented below it.

    Only addresses listed under a heading ending in ":" count, so the sender shown in "A
    message sent by <address> could not be delivered" is not taken for a recipient.
    """
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    indent = 0
    armed = False
    for line in notice.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        match = _ADDRESS_LINE.match(line)
        if match and armed:
            current = []
            indent = len(match.group(1).expandtabs(8))
            blocks.append((match.group(2).lower(), current))
            continue
        depth = len(line) - len(line.lstrip())
        if current is not None and depth >= indent:
            current.append(stripped)
            continue
        current = None
        if depth == 0:
            armed = stripped.endswith(":")
    return blocks


def _delivery(recipient: str, lines: list[str], action: Action, message_id: str | None) -> Delivery:
    text = _GENERATED.sub("", _text.unfold(" ".join(lines)))
    text = _DELAY_PREFIX.sub("", text)
    remote_mta = None
    host = _HOST.search(text)
    if host:
        remote_mta = host.group(1)
    reply = text
    command = None
    error = _SMTP_ERROR.search(reply)
    if error:
        command = _text.smtp_command(error.group(1))
        reply = reply[error.end() :]
    host = _HOST.match(reply)
    if host:
        reply = reply[host.end() :]
    elif error is None and _HOST.search(reply):
        reply = _HOST.sub("", reply, count=1)
    diagnostic = reply.strip() or text
    return _text.delivery(
        recipient,
        fmt=NAME,
        diagnostic=diagnostic,
        action=action,
        remote_mta=remote_mta,
        original_message_id=message_id,
        command=command,
    )
