"""SurfControl (Websense) e-mail filter bounces.

Recognised by "A transcript of the attempts to send the message follows." (the Subject is
often the original's own). The recipient is on "Addressed To: user@host"; the failure is a
line "user@host: [IP], 550 ..." giving the remote server and its reply; the message ends its
notice with "--- Message non-deliverable.".
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "surfcontrol"

_MARKER = "A transcript of the attempts to send the message follows"
_ADDRESSED = re.compile(rf"^\s*Addressed To:\s*<?({_text._ADDR})>?", re.M | re.I)
_FAILURE = re.compile(rf"^\s*<?({_text._ADDR})>?:\s*\[([^\]]+)\],\s*(.+)$", re.M)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _MARKER not in text:
        return NOT_MINE
    notice = _text.cut(text, ("--- Message non-deliverable.",))
    failures = {m.group(1).lower(): (m.group(2), m.group(3)) for m in _FAILURE.finditer(notice)}
    recipients = [m.group(1).lower() for m in _ADDRESSED.finditer(notice)] + list(failures)
    deliveries = []
    for recipient in dict.fromkeys(recipients):
        remote, reply = failures.get(recipient, (None, None))
        deliveries.append(
            _text.delivery(
                recipient,
                fmt=NAME,
                diagnostic=reply,
                remote_mta=remote,
                original_message_id=_text.original_message_id(msg, text),
            )
        )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=tuple(deliveries))
