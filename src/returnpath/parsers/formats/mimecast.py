"""Mimecast's delivery failure notifications.

Recognised by "This is a delivery failure notification message indicating that an email you
addressed to email address :". Each item is on a line starting with "-- ": the address, then
after "The problem appears to be :" Mimecast's summary, and after "Additional information
follows :" the remote reply, which is the diagnostic.
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "mimecast"

_MARKER = "This is a delivery failure notification message indicating that"
_ITEM = re.compile(r"^--\s+(.+)$", re.M)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _MARKER not in text:
        return NOT_MINE
    address_at = text.find("email address :")
    problem_at = text.find("The problem appears to be :")
    info_at = text.find("Additional information follows :")
    if address_at < 0:
        return NOT_MINE
    end = problem_at if problem_at > address_at else len(text)
    recipients = [
        a.lower()
        for m in _ITEM.finditer(text, address_at, end)
        for a in _text.ADDRESS.findall(m.group(1))
    ]
    if not recipients:
        return NOT_MINE
    diagnostic = None
    for start in (info_at, problem_at):
        if start >= 0:
            item = _ITEM.search(text, start)
            if item:
                diagnostic = item.group(1)
                break
    deliveries = tuple(
        _text.delivery(
            r,
            fmt=NAME,
            diagnostic=diagnostic,
            original_message_id=_text.original_message_id(msg, text),
        )
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
