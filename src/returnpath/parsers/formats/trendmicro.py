"""Trend Micro InterScan Messaging Security (IMSS / IMSVA) bounces.

Recognised by InterScan's transcript lines "Sent <<< RCPT TO:<user@host>" and
"Received >>> 550 ..." (the reply to that command), or by its banner "Message from InterScan
Messaging Security Suite" with "Unable to deliver message to <user@host>". The Subject is often
in the sender's language, so only the body is read.
"""

from __future__ import annotations

import re

from returnpath.model import Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "trendmicro"

_SENT = re.compile(r"^\s*Sent\s*<<<\s*(.+)$")
_RECEIVED = re.compile(r"^\s*Received\s*>>>\s*(.+)$")
_RCPT = re.compile(rf"RCPT TO:\s*<?({_text._ADDR})>?", re.I)
_UNABLE = re.compile(rf"Unable to deliver message to <?({_text._ADDR})>?")


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    transcript = "Sent <<<" in text and "Received >>>" in text
    if not transcript and "InterScan" not in text:
        return NOT_MINE
    message_id = _text.original_message_id(msg, text)
    deliveries: list[Delivery] = []
    recipient = command = None
    for line in text.split("\n"):
        sent = _SENT.match(line)
        if sent:
            command = _text.smtp_command(sent.group(1))
            rcpt = _RCPT.search(sent.group(1))
            recipient = rcpt.group(1).lower() if rcpt else recipient
            continue
        received = _RECEIVED.match(line)
        if received and recipient and received.group(1)[:1] in "45":
            deliveries.append(
                _text.delivery(
                    recipient,
                    fmt=NAME,
                    diagnostic=received.group(1),
                    original_message_id=message_id,
                    command=command,
                )
            )
            continue
        unable = _UNABLE.search(line)
        if unable:
            deliveries.append(
                _text.delivery(
                    unable.group(1).lower(),
                    fmt=NAME,
                    diagnostic=line.strip(" *"),
                    original_message_id=message_id,
                )
            )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))
