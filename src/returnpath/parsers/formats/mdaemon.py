"""MDaemon (MDaemon Technologies) delivery failure and delay notices.

Recognised by the "--- Session Transcript ---" block MDaemon appends to its notices (sent
from "MDaemon@host", with an X-MDDSN-Message header; Subjects "Permanent Delivery Failure",
"Warning: Temporary Delivery Failure", "Message delivery failed"). Every transcript line
starts with a timestamp ("Wed 2026-04-21 19:03:07: "); "--> " lines are what MDaemon sent,
"<-- " lines the remote server's replies, "*  To: user@host" the original's recipient.
"The attached message had PERMANENT fatal delivery errors!" marks a failure; anything else
(a warning that MDaemon will keep trying) is a delay. Each recipient is the address of a
"--> RCPT To:<user@host>" line, whose failure is the reply right after it, or, when that
reply accepted it, the transcript's last 4xx/5xx reply (a refusal after DATA); with no RCPT
line (no connection, no MX), the "To:" addresses and the transcript's last error line.
"""

from __future__ import annotations

import re

from returnpath.model import Action, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "mdaemon"

_MARKER = "--- Session Transcript ---"
_END = "--- End Transcript ---"
_STAMP = re.compile(r"^\s*(?:\w{3} )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?:\s?")
_RCPT = re.compile(rf"^-->\s*RCPT TO:\s*<?({_text._ADDR})>?", re.I)
_REPLY = re.compile(r"^<--\s*([245]\d\d[ -].*)$")
_TO = re.compile(rf"^\*\s*To:\s*.*?<?({_text._ADDR})>?\s*$", re.I)
# The original's headers, quoted at the head of the transcript ("*  Subject: ...").
_QUOTED = re.compile(r"^\*\s+[\w-]+:\s")
_QUOTED_ID = re.compile(r"^\*\s+Message-ID:\s*(<[^<>\s]+>)", re.I)
_DELAY = re.compile(r"warning|temporary|delayed|will (?:continue|keep) trying|not yet", re.I)
_ERROR = re.compile(r"error|unable|fail|not found|no mx|timed? ?out|refused", re.I)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    start = text.find(_MARKER)
    if start < 0:
        return NOT_MINE
    notice = text[:start]
    end = text.find(_END, start)
    lines = [
        _STAMP.sub("", line).strip() for line in text[start : end if end > 0 else None].split("\n")
    ]
    action = Action.FAILED
    if "PERMANENT" not in notice and _DELAY.search(_text.subject(msg) + "\n" + notice):
        action = Action.DELAYED
    addressed: list[str] = []
    refused: dict[str, str | None] = {}
    last_failure: str | None = None
    last_error: str | None = None
    pending: str | None = None  # the recipient of the RCPT TO awaiting its reply
    for line in lines:
        to = _TO.match(line)
        if to:
            addressed.append(to.group(1).lower())
            continue
        rcpt = _RCPT.match(line)
        if rcpt:
            pending = rcpt.group(1).lower()
            refused.setdefault(pending, None)
            continue
        reply = _REPLY.match(line)
        if reply:
            text_of_reply = reply.group(1)
            if text_of_reply[0] in "45":
                last_failure = text_of_reply
                if pending is not None:
                    refused[pending] = text_of_reply
            pending = None
            continue
        quoted = line.startswith("-->") or _QUOTED.match(line)
        if line and not quoted and _ERROR.search(line):
            last_error = line.lstrip("* ")
    recipients = list(refused) or list(dict.fromkeys(addressed))
    if not recipients:
        return NOT_MINE
    quoted_ids = [m.group(1) for line in lines if (m := _QUOTED_ID.match(line))]
    message_id = _text.original_message_id(msg, "\n".join(f"Message-ID: {i}" for i in quoted_ids))
    deliveries = tuple(
        _text.delivery(
            recipient,
            fmt=NAME,
            diagnostic=refused.get(recipient) or last_failure or last_error,
            action=action,
            original_message_id=message_id,
            command="RCPT" if refused.get(recipient) else None,
        )
        for recipient in recipients
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
