"""m-FILTER (Digital Arts' mail filter appliance) bounces, in Japanese.

Recognised by "m-FILTER" in the body together with its section rules: the failed addresses
follow "以下のメールアドレスへの送信に失敗しました。" ("delivery to the following addresses
failed"), then "-------server message" gives the remote reply and "-------SMTP command" the
command it answered; the original follows "-------original message" (or "-------original
mail info").
"""

from __future__ import annotations

from returnpath.model import MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "mfilter"

_SEPARATORS = ("-------original message", "-------original mail info")


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "m-FILTER" not in text or "-------server message" not in text:
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    head, _, rest = notice.partition("-------server message")
    reply_part, _, command_part = rest.partition("-------SMTP command")
    recipients = [m.group(1).lower() for m in map(_text.ADDRESS_LINE.match, head.split("\n")) if m]
    if not recipients:
        return NOT_MINE
    reply = " ".join(line.strip() for line in reply_part.split("\n") if line.strip())
    command = _text.smtp_command(command_part.strip().split("\n", 1)[0])
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = tuple(
        _text.delivery(
            r, fmt=NAME, diagnostic=reply, original_message_id=message_id, command=command
        )
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
