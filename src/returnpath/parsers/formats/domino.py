"""IBM / HCL Domino (Lotus Domino) delivery failure reports.

Recognised by the Subject "DELIVERY FAILURE: ..." (or "DELIVERY_FAILURE:") and the body
"Your message ... was not delivered to:" followed by the indented address(es), then
"because:" and the indented reason, e.g. "User some.name (user@host) not listed in Domino
Directory". The original is attached or quoted after the reason.
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "domino"

_DELIVERED_TO = re.compile(r"^\s*was not delivered to:\s*$", re.M | re.I)
_BECAUSE = re.compile(r"^\s*because:\s*$", re.M | re.I)


def extract(msg: Message) -> Extraction:
    subject = _text.subject(msg).upper()
    text = _text.text_of(msg)
    if not subject.startswith(("DELIVERY FAILURE", "DELIVERY_FAILURE")) and (
        "was not delivered to:" not in text or "Domino" not in text
    ):
        return NOT_MINE
    start = _DELIVERED_TO.search(text)
    because = _BECAUSE.search(text, start.end()) if start else None
    if start is None or because is None:
        return NOT_MINE
    recipients = [
        m.group(1).lower()
        for m in map(_text.ADDRESS_LINE.match, text[start.end() : because.start()].split("\n"))
        if m
    ]
    reason: list[str] = []
    for line in text[because.end() :].split("\n"):
        if not line.strip():
            if reason:
                break
            continue
        if not line[:1].isspace():
            break
        reason.append(line.strip())
    if not recipients:
        return NOT_MINE
    message_id = _text.original_message_id(msg, text)
    deliveries = tuple(
        _text.delivery(r, fmt=NAME, diagnostic=" ".join(reason), original_message_id=message_id)
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
