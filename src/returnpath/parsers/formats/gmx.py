"""GMX, WEB.DE and 1&1 (IONOS) bounces: Exim's opening words on a different layout.

Recognised by "--- The header of the original message is following. ---" (the returned
headers follow it), with Exim's opening "This message was created automatically by mail
delivery software." The failed address is alone on its line, at the margin and often in
quotes ("user@host":); the reason follows, either under "For the following reason:" (1&1)
or as "SMTP error from remote server after RCPT command:", "host: MX" and the reply (GMX),
which newer notices put on one line ("...for RCPT TO command, host: MX (IP) reason: 550 ...").
"""

from __future__ import annotations

import re

from returnpath.model import Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "gmx"

_SEPARATORS = ("--- The header of the original message is following. ---",)
_ADDRESS_LINE = re.compile(rf'^\s*"?<?({_text._ADDR})>?"?:?\s*$')
_HEADING = re.compile(r"^(?:The following address(?:es)? failed|.*address(?:es)?\s+failed):?\s*$")
_NOISE = re.compile(r"^(?:For the following reason:|Reason:)\s*", re.I)
# Older: "...after RCPT command:" / "host: MX" / reply on three lines; newer, on one line:
# "...for RCPT TO command, host: MX (IP) reason: 550 5.1.1 ...".
_AFTER = re.compile(
    r"SMTP error from remote server (?:after|for) (\S+(?: TO| FROM)?)(?: command)?[:,]?\s*", re.I
)
_HOST = re.compile(r"^host:\s*([\w.-]+)\s*(?:\([^)]*\)\s*)?(?:reason:\s*)?", re.I)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _SEPARATORS[0] not in text:
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    lines = notice.split("\n")
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries: list[Delivery] = []
    for index, line in enumerate(lines):
        match = _ADDRESS_LINE.match(line)
        if match:
            deliveries.append(_delivery(match.group(1).lower(), lines[index + 1 :], message_id))
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))


def _delivery(recipient: str, rest: list[str], message_id: str | None) -> Delivery:
    reason: list[str] = []
    remote = command = None
    for line in rest:
        stripped = line.strip()
        if _ADDRESS_LINE.match(line):
            break
        if not stripped:
            if reason and not reason[-1].endswith(":"):
                break
            continue
        stripped = _NOISE.sub("", stripped)
        after = _AFTER.match(stripped)
        if after:
            command = _text.smtp_command(after.group(1))
            stripped = stripped[after.end() :]
        host = _HOST.match(stripped)
        if host:
            remote = host.group(1)
            stripped = stripped[host.end() :]
        if stripped:
            reason.append(stripped)
    return _text.delivery(
        recipient,
        fmt=NAME,
        diagnostic=" ".join(reason) or None,
        remote_mta=remote,
        original_message_id=message_id,
        command=command,
    )
