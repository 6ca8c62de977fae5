"""fml mailing-list manager's error replies (a post the list refused).

Recognised by the header "X-MLServer: fml ..." on a message from the list's "-admin" (or
"-ctl") address. The first line names the problem and the list address in angle brackets:
"You are not a member of this mailing list <list@host>.", "Duplicated Message-ID in
<list@host>." The list address is the recipient that refused the message.
"""

from __future__ import annotations

import re

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "fml"

_LIST = re.compile(rf"<({_text._ADDR})>")


def extract(msg: Message) -> Extraction:
    if not _text.header(msg, "X-MLServer").lower().startswith("fml"):
        return NOT_MINE
    sender = _text.from_address(msg).partition("@")[0]
    if not sender.endswith(("-admin", "-ctl", "-request")):
        return NOT_MINE
    text = _text.text_of(msg).strip()
    first = text.split("\n", 1)[0].strip()
    match = _LIST.search(first)
    if match is None:
        return NOT_MINE
    only = _text.delivery(match.group(1).lower(), fmt=NAME, diagnostic=first)
    return Extraction(kind=MessageKind.BOUNCE, deliveries=(only,))
