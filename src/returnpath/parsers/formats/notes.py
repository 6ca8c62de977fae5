"""Lotus Notes (SMTP MTA) bounces.

Recognised by the section rule "------- Failure Reasons  --------": the reason (often in the
sender's language) comes first, then the failed address(es), up to "------- Returned Message
--------", after which the original is quoted.
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "notes"

_START = re.compile(r"^-+\s*Failure Reasons\s*-+\s*$", re.M)
_SEPARATORS = ("------- Returned Message --------",)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "Failure Reasons" not in text:
        return NOT_MINE
    start = _START.search(text)
    if start is None:
        return NOT_MINE
    section = _text.cut(text[start.end() :], _SEPARATORS)
    reasons: list[str] = []
    recipients: list[str] = []
    for line in section.split("\n"):
        match = _text.ADDRESS_LINE.match(line)
        if match:
            recipients.append(match.group(1).lower())
        elif line.strip() and not recipients:
            reasons.append(line.strip())
    if not recipients:
        return NOT_MINE
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = tuple(
        _text.delivery(r, fmt=NAME, diagnostic=" ".join(reasons), original_message_id=message_id)
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
