"""Gmail's plain-text bounces and delay warnings (Google's mail servers before they sent DSNs).

Recognised by "Delivery to the following recipient(s) failed permanently:" (or "...has been
delayed:" / "...failed temporarily:"), from a mailer-daemon address. The recipients follow,
indented, one per line; then "Technical details of permanent failure:" (or "of temporary
failure:") and Google's explanation, which quotes the remote reply after "The error that the
other server returned was:". The copy of the message follows "----- Original message -----".
Newer Gmail and Google Workspace bounces are RFC 3464 reports, which dsn.py reads; when their
delivery-status part is empty, their text is read here: a heading such as "** Address not
found **" or "** Message not delivered **", "Your message wasn't delivered to USER because
...", and the remote reply after "The response from the remote server was:" (or "The response
was:"), with the recipient in X-Failed-Recipients.
"""

from __future__ import annotations

import re

from returnpath.model import Action, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "gmail"

_HEADING = re.compile(
    r"^Delivery to the following recipients? (failed permanently|has been delayed|have been"
    r" delayed|failed temporarily|is pending)\s*:",
    re.M | re.I,
)
_SEPARATORS = ("----- Original message -----", "----- Message header follows -----")
_DETAILS = re.compile(
    r"^Technical details of (?:permanent|temporary) failure:[ \t]*(?:=20)?$", re.M
)
_RETURNED = re.compile(r"The error that the other server returned was:\s*", re.I)
_REASON = re.compile(r"^(?:reason|error|diagnostic|details?)\s*:\s*", re.I)
_STATE = re.compile(r"\s*\(state \d+\)\.?\s*$")
_MX = re.compile(r"\[\(\d+\)\s+([\w.-]+?)\.?\s+\[")


_MODERN_HEADING = re.compile(r"^\*\* [^*\n]{3,60} \*\*\s*$", re.M)
_RESPONSE = re.compile(r"^The (?:response from the remote server|response) was:\s*$", re.M)
_WASNT_DELIVERED = re.compile(rf"wasn't delivered to ({_text._ADDR})")


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if "Delivery to the following recipient" not in text:
        if "** " in text and ("The response" in text or "wasn't delivered to" in text):
            return _modern(msg, text)
        return NOT_MINE
    heading = _HEADING.search(text)
    if heading is None or not _text.from_daemon(msg):
        return NOT_MINE
    outcome = heading.group(1).lower()
    action = Action.FAILED if "permanently" in outcome else Action.DELAYED
    notice = _text.cut(text, _SEPARATORS)
    recipients: list[str] = []
    lines = notice[heading.end() :].split("\n")
    rest = 0
    for rest, line in enumerate(lines):  # noqa: B007 - where the list ends is read below
        if not line.strip():
            if recipients:
                break
            continue
        match = _text.ADDRESS_LINE.match(line)
        if not match:
            break
        recipients.append(match.group(1).lower())
    if not recipients:
        return NOT_MINE
    diagnostic = None
    remote_mta = None
    details = _DETAILS.search(notice)
    if details:
        body = _text.unfold(notice[details.end() :])
        returned = _RETURNED.search(body)
        diagnostic = _STATE.sub("", body[returned.end() :] if returned else body)
        mx = _MX.search(body)
        remote_mta = mx.group(1) if mx else None
    else:
        # Servers that borrowed Gmail's heading (SmarterMail and others) give the reason in
        # the paragraph after the list of recipients ("Reason: 550 5.1.1 ...").
        following = "\n".join(lines[rest:]).strip().split("\n\n", 1)[0]
        diagnostic = _REASON.sub("", _text.unfold(following)) or None
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = tuple(
        _text.delivery(
            r,
            fmt=NAME,
            diagnostic=diagnostic,
            action=action,
            remote_mta=remote_mta,
            original_message_id=message_id,
        )
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)


def _modern(msg: Message, text: str) -> Extraction:
    """Google's current wording, when no delivery-status part said it first."""
    heading = _MODERN_HEADING.search(text)
    if heading is None or not _text.from_daemon(msg):
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    failed = _text.header(msg, "X-Failed-Recipients")
    recipients = [a.lower() for a in _text.ADDRESS.findall(failed)]
    recipients += [m.group(1).lower() for m in _WASNT_DELIVERED.finditer(notice)]
    if not recipients:
        return NOT_MINE
    response = _RESPONSE.search(notice)
    explanation = notice[heading.end() :].strip().split("\n\n", 1)[0]
    if response:
        # Google's explanation can name what the remote reply does not (a misconfigured
        # 'Send mail as' account): it follows the reply, which stays first.
        reply = notice[response.end() :].strip().split("\n\n", 1)[0]
        diagnostic = f"{reply} {explanation}" if explanation and reply else reply or explanation
    else:
        diagnostic = explanation
    action = Action.DELAYED if "delayed" in heading.group(0).lower() else Action.FAILED
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    deliveries = tuple(
        _text.delivery(
            r, fmt=NAME, diagnostic=diagnostic, action=action, original_message_id=message_id
        )
        for r in dict.fromkeys(recipients)
    )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=deliveries)
