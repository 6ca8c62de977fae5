"""Google Groups rejections: a post to a group that does not exist or does not accept it.

Recognised by a mailer-daemon message carrying X-Failed-Recipients whose body links to
"groups.google.com" (Google writes the explanation in the sender's language: "the group you
tried to contact (NAME) may not exist, or you may not have permission to post messages to the
group"). The group address is in X-Failed-Recipients; the diagnostic is Google's explanation,
which always ends with the Google Groups help link, and the hint is `rejected`. The copy
follows "----- Original message -----".
"""

from __future__ import annotations

from returnpath.model import MessageKind, Reason
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "googlegroups"

_SEPARATORS = ("----- Original message -----",)


def extract(msg: Message) -> Extraction:
    failed = _text.header(msg, "X-Failed-Recipients")
    if not failed or "groups.google.com" not in _text.text_of(msg):
        return NOT_MINE
    notice = _text.cut(_text.text_of(msg), _SEPARATORS)
    if "groups.google.com" not in notice or not _text.from_daemon(msg):
        return NOT_MINE
    # The greeting names the sender, not the group: drop the first line.
    explanation = notice.strip().split("\n", 1)[-1]
    message_id = _text.original_message_id(msg, _text.after(_text.text_of(msg), _SEPARATORS))
    recipients = dict.fromkeys(a.lower() for a in _text.ADDRESS.findall(failed))
    # Google words the notice in the sender's language, so no text rule can read it; the
    # notice itself says the group refused the post, which the hint passes on to classify.
    deliveries = tuple(
        _text.delivery(
            r,
            fmt=NAME,
            diagnostic=explanation,
            original_message_id=message_id,
            hint=Reason.REJECTED,
        )
        for r in recipients
    )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
