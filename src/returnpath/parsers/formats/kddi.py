"""KDDI / au one net (dion.ne.jp) bounces, a Japanese notice followed by an English one.

Recognised by "Could not be delivered to: <user@host>" in the English part, which follows
"Your mail sent on: DATE"; the line after the address gives the reason ("As their mailbox is
full.", "As the remote host does not exist.", ...).
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "kddi"

_TO = re.compile(rf"Could not be delivered to:\s*<?({_text._ADDR})>?[ \t]*\n?(.*)", re.I)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "Could not be delivered to:" not in text:
        return NOT_MINE
    deliveries = tuple(
        _text.delivery(
            m.group(1).lower(),
            fmt=NAME,
            diagnostic=m.group(2).strip() or None,
            original_message_id=_text.original_message_id(msg, text),
        )
        for m in _TO.finditer(text)
    )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))
