"""Yahoo! Mail's plain-text bounces (also AOL and other Yahoo-run domains).

Recognised by "Sorry, we were unable to deliver your message to the following address." (or
"...to the following addresses."), from a mailer-daemon address. Each failure is
"<user@host>:" followed by the remote reply, written "Remote host said: 550 ... [RCPT_TO]"
or just "550: 5.1.1 <user@host>... User Unknown"; the bracketed tag at the end names the SMTP
stage. The copy follows "--- Below this line is a copy of the message.".
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "yahoo"

_MARKER = "Sorry, we were unable to deliver your message to the following address"
_SEPARATORS = ("--- Below this line is a copy of the message", "--- Original message follows")
_SAID = re.compile(r"^Remote host said:\s*", re.I)
_CODE_COLON = re.compile(r"^([245]\d\d):\s*")
_STAGE = re.compile(r"\s*\[(RCPT_TO|MAIL_FROM|BODY|DATA|CONNECT)\]\s*$", re.I)
_STAGES = {"RCPT_TO": "RCPT", "MAIL_FROM": "MAIL", "BODY": "DATA", "DATA": "DATA"}


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _MARKER not in text:
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = []
    for recipient, lines in _text.bracket_blocks(notice):
        reply = _SAID.sub("", " ".join(lines).strip())
        reply = _CODE_COLON.sub(r"\1 ", reply)
        command = None
        stage = _STAGE.search(reply)
        if stage:
            command = _STAGES.get(stage.group(1).upper(), "CONN")
            reply = reply[: stage.start()]
        deliveries.append(
            _text.delivery(
                recipient,
                fmt=NAME,
                diagnostic=reply,
                original_message_id=message_id,
                command=command,
            )
        )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))
