"""DragonFly Mail Agent (dma) bounces.

Recognised by "This is the DragonFly Mail Agent" in the body. dma reports one recipient per
bounce: "There was an error delivering your mail to <user@host>." followed by its reason,
e.g. "HOST [IP] did not like our RCPT TO:" and the remote reply on the next line, up to
"Message headers follow." (after which the original's headers are quoted).
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "dragonfly"

_SEPARATORS = ("Message headers follow.", "Original message follows.")
_RECIPIENT = re.compile(rf"There was an error delivering your mail to <({_text._ADDR})>\.?")
_DID_NOT_LIKE = re.compile(r"^(\S+)(?: \[[^\]]*\])? did not like our ([^:]+):\s*", re.M)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "DragonFly Mail Agent" not in text:
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    match = _RECIPIENT.search(notice)
    if match is None:
        return NOT_MINE
    reason = notice[match.end() :].strip()
    remote_mta = command = None
    context = _DID_NOT_LIKE.search(reason)
    if context:
        remote_mta = context.group(1)
        command = _text.smtp_command(context.group(2))
        reason = reason[context.end() :]
    only = _text.delivery(
        match.group(1).lower(),
        fmt=NAME,
        diagnostic=reason,
        remote_mta=remote_mta,
        original_message_id=_text.original_message_id(msg, _text.after(text, _SEPARATORS)),
        command=command,
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=(only,))
