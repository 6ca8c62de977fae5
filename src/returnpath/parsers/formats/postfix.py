"""Postfix's plain-text bounces and delay warnings (the text part, when no DSN part comes with it).

Recognised by "This is the mail system at host HOST." or the older "This is the Postfix
program at host HOST.", together with Postfix's Subject ("Undelivered Mail Returned to
Sender", "Delayed Mail (still being retried)", "Mail Delivery Status Report") or the phrase
"could not be delivered to one or more recipients"/"destinations". Each failure is a paragraph
"<user@host> (expanded from <alias>): host MX[IP] said: 550 5.1.1 ... (in reply to RCPT TO
command)" or a local error ("unknown user", "Host or domain name not found ..."). A delay
warning says "THIS IS A WARNING ONLY" and "could not be delivered for more than N hour(s)".
When the report has a message/delivery-status part, dsn.py runs first and reads that.
"""

from __future__ import annotations

import re

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "postfix"

_SIGNATURES = ("This is the mail system at host", "This is the Postfix program at host")
_SUBJECTS = (
    "Undelivered Mail Returned to Sender",
    "Delayed Mail (still being retried)",
    "Mail Delivery Status Report",
    "Undeliverable Mail",
)
_MARKERS = (
    "could not be delivered to one or more recipients",
    "could not be delivered to one or more destinations",
    "your message could not be delivered",
    "Your message could not be delivered",
)
_SEPARATORS = (
    "--- Below is the returned message",
    "Content-Description: Delivery report",
    "Content-Description: Undelivered Message",
    "Content-Type: message/delivery-status",
    "Content-Type: message/rfc822",
)
_PARAGRAPH = re.compile(
    rf"^<({_text._ADDR})>(?:\s*\(expanded\s+from\s+[^)]*\))?\s*:\s*(.*)$", re.S | re.I
)
# "host MX[IP] said:" (the address in brackets is left out by some relays).
_SAID = re.compile(
    r"\bhost\s+([\w.-]+)(?:\[[^\]]*\])?\s+said:\s*"
    r"|\bhost\s+([\w.-]+)(?:\[[^\]]*\])?\s+refused to talk to me:\s*",
    re.I,
)
_HOST = re.compile(
    r"\bhost\s+([\w.-]+)(?:\[[^\]]*\])?\s+(?:said|refused)"
    r"|\b(?:connect to|connection with|conversation with)\s+([\w.-]+)\[[^\]]*\]",
    re.I,
)
# A failure paragraph as Postfix's SMTP client writes it. Sites that translate Postfix's
# bounce template (bounce.cf) change the words around these paragraphs, never the paragraphs.
_OWN_PARAGRAPH = re.compile(
    rf"^<{_text._ADDR}>(?:\s*\(expanded\s+from\s+<[^>\n]*>\))?:\s+(?:host\s+\S+\s+"
    r"(?:said|refused\s+to\s+talk\s+to\s+me):|connect\s+to\s+\S+\[[^\]\n]*\]:\d*\s)",
    re.M | re.I,
)
_TRANSCRIPT_IN = re.compile(r"^\s*In:\s+(.*)$")
_TRANSCRIPT_OUT = re.compile(r"^\s*Out:\s+([45]\d\d[ -].*)$")
_RCPT_TO = re.compile(rf"^RCPT TO:\s*<({_text._ADDR})>", re.I)
_IN_REPLY = re.compile(r"\s*\(in reply to (.+?) command\)\s*", re.I)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if _text.subject(msg).startswith("Postfix SMTP server: errors from"):
        return _smtpd_transcript(text)
    if not any(sig in text for sig in _SIGNATURES):
        subject = _text.subject(msg)
        templated = any(s in subject for s in _SUBJECTS) and any(m in text for m in _MARKERS)
        if not templated and not _own_paragraph(msg, text):
            return NOT_MINE
    delayed = "THIS IS A WARNING ONLY" in text or "Delayed Mail" in _text.subject(msg)
    notice = _text.cut(text, _SEPARATORS)
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    action = Action.DELAYED if delayed else Action.FAILED
    deliveries: list[Delivery] = []
    for paragraph in re.split(r"\n[ \t]*\n", notice):
        match = _PARAGRAPH.match(paragraph.strip())
        if match:
            deliveries.append(_delivery(match.group(1).lower(), match.group(2), action, message_id))
    if not deliveries and "--- Delivery report unavailable ---" in notice:
        # Postfix could not say who failed; an original sent to exactly one address tells.
        originals = _text.original_recipients(msg)
        if len(originals) == 1:
            deliveries.append(
                _text.delivery(
                    originals[0],
                    fmt=NAME,
                    diagnostic=None,
                    action=action,
                    original_message_id=message_id,
                )
            )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))


def _own_paragraph(msg: Message, text: str) -> bool:
    """Whether a notice without Postfix's English template still has its failure paragraphs."""
    if (" said:" not in text and "connect to " not in text) or not _text.from_daemon(msg):
        return False
    return _OWN_PARAGRAPH.search(text) is not None


def _delivery(recipient: str, rest: str, action: Action, message_id: str | None) -> Delivery:
    text = _text.unfold(rest)
    command = None
    in_reply = _IN_REPLY.search(text)
    if in_reply:
        command = _text.smtp_command(in_reply.group(1))
        text = (text[: in_reply.start()] + " " + text[in_reply.end() :]).strip()
    remote_mta = None
    host = _HOST.search(text)
    if host:
        remote_mta = host.group(1) or host.group(2)
    said = _SAID.search(text)
    diagnostic = text[said.end() :] if said else text
    if said and said.group(2):
        command = command or "CONN"
    return _text.delivery(
        recipient,
        fmt=NAME,
        diagnostic=diagnostic or text,
        action=action,
        remote_mta=remote_mta,
        original_message_id=message_id,
        command=command,
    )


def _smtpd_transcript(text: str) -> Extraction:
    """Postfix's notice to postmaster of a failed inbound session ("Transcript of session
    follows." with " In:" and " Out:" lines): the recipients given in RCPT TO and the
    server's last 4xx/5xx reply."""
    recipients: list[str] = []
    command = None
    reply = None
    for line in text.split("\n"):
        sent = _TRANSCRIPT_IN.match(line)
        if sent:
            rcpt = _RCPT_TO.match(sent.group(1))
            if rcpt:
                recipients.append(rcpt.group(1).lower())
            command = _text.smtp_command(sent.group(1).split(" ", 1)[0]) or command
            continue
        out = _TRANSCRIPT_OUT.match(line)
        if out:
            reply = out.group(1)
            last_command = command
    if not recipients or reply is None:
        return NOT_MINE
    deliveries = tuple(
        _text.delivery(r, fmt=NAME, diagnostic=reply, command=last_command)
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
