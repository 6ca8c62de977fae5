"""Zoho Mail bounces.

Recognised by "ERROR_CODE :" in a notice from Zoho's mailer-daemon (it opens with Exim's
"This message was created automatically by mail delivery software."). Each failure is one
line: "user@host Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 <user@host>... User
Unknown" or "user@host Error, ERROR_CODE :421, ERROR_CODE :, Host not reachable.": Zoho's
summary, the reply code, then the remote reply text.
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "zoho"

_LINE = re.compile(
    rf"^\s*<?({_text._ADDR})>?\s+(.*?),\s*ERROR_CODE\s*:\s*(\d{{3}})?\s*,\s*ERROR_CODE\s*:\s*(.*)$",
    re.M,
)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "ERROR_CODE :" not in text and "ERROR_CODE:" not in text:
        return NOT_MINE
    deliveries = []
    for match in _LINE.finditer(text):
        summary, code, reply = match.group(2), match.group(3), match.group(4).strip(" ,")
        diagnostic = " ".join(part for part in (code, reply or summary) if part)
        deliveries.append(
            _text.delivery(
                match.group(1).lower(),
                fmt=NAME,
                diagnostic=diagnostic,
                reply_code=code,
                original_message_id=_text.original_message_id(msg, text),
            )
        )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))
