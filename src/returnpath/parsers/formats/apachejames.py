"""Apache James bounces (also Verizon Wireless's vtext.com / vzwpix.com gateway, built on it).

Recognised by James's bounce layout: "Error: ..." and "Error message below:" with the remote
reply, then "Message details:" listing "MAIL FROM:" and "RCPT TO:" of the failed delivery.
The recipient is the RCPT TO address; the diagnostic is the reply under "Error message
below:".
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "apachejames"

_RCPT = re.compile(rf"^\s*RCPT TO:\s*<?({_text._ADDR})>?", re.M | re.I)
_BELOW = re.compile(r"^\s*Error message below:\s*$", re.M | re.I)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "Message details:" not in text or "Error message below:" not in text:
        return NOT_MINE
    below = _BELOW.search(text)
    details = text.find("Message details:")
    if below is None or details < below.end():
        return NOT_MINE
    reply = " ".join(
        line.strip() for line in text[below.end() : details].split("\n") if line.strip()
    )
    # "550 - Requested action not taken" -> "550 Requested action not taken"
    reply = re.sub(r"^([245]\d\d)\s+-\s+", r"\1 ", reply)
    recipients = dict.fromkeys(m.group(1).lower() for m in _RCPT.finditer(text[details:]))
    deliveries = tuple(
        _text.delivery(r, fmt=NAME, diagnostic=reply, command="RCPT" if reply else None)
        for r in recipients
    )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
