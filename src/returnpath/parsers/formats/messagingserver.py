"""Oracle (Sun, iPlanet) Communications Messaging Server notifications, read from their text.

Recognised by "This report relates to a message you sent with the following header fields:".
After "Your message cannot be delivered to the following recipients:" each recipient is a
group of indented fields: "Recipient address: user@host", "Reason: ...", "Diagnostic code:
smtp;550 5.1.1 ..." and "Remote system: dns;HOST (...)". A delay report has the Subject
"Delivery Notification: Delivery has been delayed". These reports come with a
delivery-status part, which dsn.py reads first; this module reads them when it is empty.
"""

from __future__ import annotations

import re

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "messagingserver"

_MARKER = "This report relates to a message you sent with the following header fields"
_FIELD = re.compile(
    r"^\s*(Recipient address|Original address|Reason|Diagnostic code|Remote system):\s*(.*)$",
    re.I,
)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _MARKER not in text:
        return NOT_MINE
    delayed = "delayed" in _text.subject(msg).lower()
    message_id = _text.original_message_id(msg, text)
    groups: list[dict[str, str]] = []
    for line in text.split("\n"):
        field = _FIELD.match(line)
        if not field:
            continue
        name, value = field.group(1).lower(), field.group(2).strip()
        if name == "recipient address":
            groups.append({})
        if groups and name not in groups[-1]:
            groups[-1][name] = value
    deliveries: list[Delivery] = []
    for group in groups:
        recipient = _text.clean_address(group.get("recipient address", ""))
        if not recipient:
            continue
        diagnostic = group.get("diagnostic code") or group.get("reason") or ""
        if ";" in diagnostic[:8]:
            diagnostic = diagnostic.split(";", 1)[1]
        remote = group.get("remote system", "")
        remote = remote.split(";", 1)[-1].split(" ", 1)[0] or None
        deliveries.append(
            _text.delivery(
                recipient,
                fmt=NAME,
                diagnostic=diagnostic or None,
                action=Action.DELAYED if delayed else Action.FAILED,
                remote_mta=remote,
                original_message_id=message_id,
            )
        )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))
