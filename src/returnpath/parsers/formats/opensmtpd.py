"""OpenSMTPD's plain-text bounces and delay warnings (before it sent RFC 3464 reports).

Recognised by "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail." together with
"the following list of recipients:" (wrapped over two lines in some versions). Each recipient
is a line "user@host: reason" (the reason is OpenSMTPD's summary or the remote reply), up to
"Below is a copy of the original message:". A warning says "A message is delayed for more
than ..." and "this is only a temporary failure report".
"""

from __future__ import annotations

import re

from returnpath.model import Action, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "opensmtpd"

_MARKER = "This is the MAILER-DAEMON, please DO NOT REPLY"
_SEPARATORS = ("Below is a copy of the original message:", "Below is a copy of the message")
_LIST = re.compile(r"the\s+following\s+list\s+of\s+recipients:", re.I)
_LINE = re.compile(rf"^\s*<?({_text._ADDR})>?:\s*(.+)$")


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _MARKER not in text:
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    heading = _LIST.search(notice)
    if heading is None:
        return NOT_MINE
    delayed = "is delayed for more than" in notice or "temporary failure report" in notice
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = []
    for line in notice[heading.end() :].split("\n"):
        match = _LINE.match(line)
        if match:
            deliveries.append(
                _text.delivery(
                    match.group(1).lower(),
                    fmt=NAME,
                    diagnostic=match.group(2),
                    action=Action.DELAYED if delayed else Action.FAILED,
                    original_message_id=message_id,
                )
            )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))
