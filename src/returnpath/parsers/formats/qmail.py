"""qmail's plain-text bounces (qmail-send, netqmail, notqmail, indimail, vpopmail).

Recognised by the body opening "Hi. This is the qmail-send program at HOST." (or "This is the
qmail-send program") and "I wasn't able to deliver your message to the following addresses".
Each failure is "<user@host>:" followed by qmail's explanation up to a blank line: "HOST does
not like recipient." / "Connected to HOST but sender was rejected." / "HOST failed after I
sent the message." then "Remote host said: 550 ...", or a local error ending in "(#5.1.1)".
The copy of the message follows "--- Below this line is a copy of the message." (or "---
Enclosed is a copy of the message.").
"""

from __future__ import annotations

import re

from returnpath.model import Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "qmail"

_MARKERS = (
    "qmail-send program",
    "wasn't able to deliver your message to the following addresses",
    "was not able to deliver your message to the following addresses",
    # qmail-based ISP relays: "Message from HOST. Unable to deliver message to the following
    # address(es)." with qmail's "<user@host>:" blocks.
    "Unable to deliver message to the following address(es).",
)
_SEPARATORS = (
    "--- Below this line is a copy of the message",
    "--- Enclosed is a copy of the message",
    "--- Below this line is the original bounce",
    "--- Original message follows",
)
_REMOTE_SAID = re.compile(r"Remote host said:\s*", re.I)
_CONTEXT = (
    (re.compile(r"^(\S+) does not like recipient", re.I), "RCPT"),
    (re.compile(r"^Connected to (\S+) but sender was rejected", re.I), "MAIL"),
    (re.compile(r"^(\S+) failed after I sent the message", re.I), "DATA"),
    (re.compile(r"^Connected to (\S+) but (?:greeting|my name) was rejected", re.I), "CONN"),
    (re.compile(r"^Connected to (\S+) but connection died", re.I), "CONN"),
)
# Lines that say what qmail did, not what the remote server replied.
_NOISE = re.compile(r"^(?:Giving up on \S+|From: <[^>]*> RCPT: <[^>]*> )", re.I)
_GAVE_UP = "I'm not going to try again; this message has been in the queue too long."


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if not any(marker in text for marker in _MARKERS):
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = [
        _delivery(recipient, lines, message_id) for recipient, lines in _text.bracket_blocks(notice)
    ]
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))


def _delivery(recipient: str, lines: list[str], message_id: str | None) -> Delivery:
    remote_mta = None
    command = None
    said: list[str] = []
    other: list[str] = []
    in_reply = False
    # The phrase may be wrapped, or glued to the end of qmail's own error: look for it in the
    # unfolded block, and put it back once, after the reply.
    gave_up = _GAVE_UP in _text.unfold(" ".join(lines))
    for line in lines:
        stripped = _NOISE.sub("", line).strip()
        for pattern, name in _CONTEXT:
            match = pattern.match(stripped)
            if match:
                remote_mta, command = match.group(1).rstrip(".:"), name
                stripped = ""
                break
        if not stripped:
            continue
        said_match = _REMOTE_SAID.search(stripped)
        if said_match:
            in_reply = True
            said.append(stripped[said_match.end() :])
        elif in_reply:
            said.append(stripped)
        else:
            other.append(stripped)
    diagnostic = _text.unfold(" ".join(said) if said else " ".join(other))
    diagnostic = diagnostic.replace(_GAVE_UP, " ").strip()
    if gave_up:
        # qmail's only way of saying the retries ran out: the rules read it after the reply.
        diagnostic = f"{diagnostic} {_GAVE_UP}".strip()
    return _text.delivery(
        recipient,
        fmt=NAME,
        diagnostic=diagnostic or " ".join(lines),
        remote_mta=remote_mta,
        original_message_id=message_id,
        command=command,
    )
