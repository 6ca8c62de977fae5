"""Sendmail's plain-text bounces and warnings (also old V5/V8 sendmail without a DSN part).

Recognised by Sendmail's section rules: "----- The following addresses had permanent fatal
errors -----" (or "...transient non-fatal errors -----" in a warning) and "----- Transcript of
session follows -----", usually with Subject "Returned mail: ..." or "Warning: could not send
message for past N hours". The address list gives each recipient and "(reason: 550 ...)";
the transcript gives the remote server's own words: "... while talking to MX.:",
">>> RCPT To:<user@host>", "<<< 550 5.1.1 ... User unknown", then Sendmail's summary
"550 5.1.1 <user@host>... User unknown". The copy follows "----- Unsent message follows -----"
or "----- Original message follows -----" (or a message/rfc822 part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "sendmail"

_MARKERS = (
    "----- Transcript of session follows -----",
    "----- The following addresses had permanent fatal errors -----",
    "----- The following addresses had transient non-fatal errors -----",
    "----- The following addresses have delivery notifications -----",
    # Sendmail-derived relays (BIGLOBE, McAfee, Activehunter) keep the wording, not the rule.
    "The following addresses had delivery problems",
    "The following addresses had permanent delivery errors",
)
_SEPARATORS = (
    "----- Unsent message follows -----",
    "----- Original message follows -----",
    "----- Message header follows -----",
    "----- Returned message follows -----",
    "----- Message body suppressed -----",
    "------- Received message follows -------",
)
_WARNING = (
    "THIS IS A WARNING MESSAGE ONLY",
    "transient non-fatal errors",
    "Warning: message still undelivered",
)
_TALKING = re.compile(r"^\.*\s*while talking to\s+\[?([^\s:\]]+?)\]?\.?:\s*$", re.I)
_SENT = re.compile(r"^>>>\s*(.*)$")
_RECEIVED = re.compile(r"^<<<\s*(.*)$")
_RESULT = re.compile(
    rf"^(?:([245]\d\d)(?:[ -]([245]\.\d{{1,3}}\.\d{{1,3}}))?\s+)?<?({_text._ADDR})>?\.\.\.\s*(.*)$"
)
_BARE_REPLY = re.compile(r"^[245]\d\d[ -]\S")
_LISTED = re.compile(rf"^\s*<?({_text._ADDR})>?\s*$")
# "<user@host>   (5.1.1 <user@host>... User unknown)" on one line (McAfee).
_INLINE_REASON = re.compile(rf"^\s*<({_text._ADDR})>\s+\((.+)\)\s*$")
_REASON = re.compile(r"^\s*\(reason:\s*(.*?)\s*$", re.I)
_GAVE_UP = re.compile(r"cannot send message for \d+ \w+", re.I)
_HOST_FAILURE = re.compile(r"^([245]\d\d) ([A-Za-z0-9.-]+\.[A-Za-z]{2,}) \(\w+\)\.\.\.\s*(.+)$")


@dataclass
class _Found:
    """What the notice says about one recipient, filled from the list and the transcript."""

    reason: str | None = None
    reply: str | None = None
    summary: str | None = None
    remote_mta: str | None = None
    command: str | None = None
    code: str | None = None
    status: str | None = None
    order: list[str] = field(default_factory=list)


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if not any(marker in text for marker in _MARKERS):
        return NOT_MINE
    warning = any(w in text for w in _WARNING) or _text.subject(msg).startswith(
        "Warning: could not send"
    )
    notice = _text.cut(text, _SEPARATORS)
    found: dict[str, _Found] = {}
    _read_address_lists(notice, found)
    _read_transcript(notice, found)
    if not found:
        _read_host_failures(notice, text, _text.subject(msg), found)
    if not found:
        return NOT_MINE
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    action = Action.DELAYED if warning else Action.FAILED
    deliveries = [_delivery(r, f, action, message_id) for r, f in found.items()]
    return Extraction(kind=MessageKind.BOUNCE, deliveries=tuple(deliveries))


def _read_address_lists(notice: str, found: dict[str, _Found]) -> None:
    """The "----- The following addresses had ... errors -----" sections.

    A "----- Non-delivered information -----" section (BIGLOBE) gives the reason for every
    listed address that has none of its own.
    """
    listing = False
    current: _Found | None = None
    reason: list[str] | None = None
    information: list[str] | None = None
    info_lines: list[str] = []
    for line in notice.split("\n"):
        if reason is not None and current is not None:
            reason.append(line.strip())
            if line.rstrip().endswith(")") or not line.strip():
                current.reason = _text.unfold(" ".join(reason)).removesuffix(")")
                reason = None
            continue
        if line.strip().startswith("---"):
            listing = "following addresses" in line
            information = info_lines if "Non-delivered information" in line else None
            current = None
            continue
        if information is not None:
            if line.strip():
                information.append(line.strip())
            elif information:
                information = None
            continue
        if not listing:
            continue
        listed = _LISTED.match(line)
        if listed:
            current = found.setdefault(listed.group(1).lower(), _Found())
            continue
        start = _REASON.match(line)
        if start and current is not None and current.reason is None:
            reason = [start.group(1)]
            if line.rstrip().endswith(")"):
                current.reason = _text.unfold(start.group(1)).removesuffix(")")
                reason = None
            continue
        inline = _INLINE_REASON.match(line)
        if inline:
            entry = found.setdefault(inline.group(1).lower(), _Found())
            entry.reason = entry.reason or inline.group(2)
    if info_lines:
        for entry in found.values():
            entry.reason = entry.reason or " ".join(info_lines)


def _read_transcript(notice: str, found: dict[str, _Found]) -> None:
    """The session transcript: remote replies ("<<<") belong to the next summary line.

    Replies that no summary line names (Sendmail often ends with a bare "554 5.0.0 Service
    unavailable") go to the listed recipients that the transcript does not name at all.
    """
    remote_mta = None
    command = None
    replies: list[str] = []
    unclaimed: list[tuple[str, str | None, str | None]] = []
    # Bare reply lines ("550 sorry, no mailbox here by that name (#5.1.1)") that some
    # Sendmail-like MTAs write instead of "<<<" lines; used only when nothing better exists.
    bare: list[str] = []
    for raw in notice.split("\n"):
        line = raw.strip()
        talking = _TALKING.match(line)
        sent = None if talking else _SENT.match(line)
        if (talking or sent) and replies:
            unclaimed.append((_text.join_reply(replies), remote_mta, command))
            replies = []
        if talking:
            remote_mta, command = talking.group(1).rstrip("."), None
            continue
        if sent:
            command = _text.smtp_command(sent.group(1)) or command
            continue
        received = _RECEIVED.match(line)
        if received:
            replies.append(received.group(1))
            continue
        result = _RESULT.match(line)
        if not result:
            if _BARE_REPLY.match(line) and "(smtp)..." not in line:
                bare.append(line)
            continue
        recipient = result.group(3).lower()
        entry = found.setdefault(recipient, _Found())
        if entry.summary is None:
            entry.code, entry.status, entry.summary = (
                result.group(1),
                result.group(2),
                result.group(4),
            )
        if replies and entry.reply is None:
            entry.reply = _text.join_reply(replies)
            entry.remote_mta, entry.command = remote_mta, command
        replies = []
    if replies:
        unclaimed.append((_text.join_reply(replies), remote_mta, command))
    if not unclaimed and bare:
        unclaimed.append((bare[0], remote_mta, command))
    if unclaimed:
        reply, mta, cmd = unclaimed[-1]
        for entry in found.values():
            if entry.reply is None and entry.summary is None:
                entry.reply, entry.remote_mta, entry.command = reply, mta, cmd


def _read_host_failures(notice: str, text: str, subject: str, found: dict[str, _Found]) -> None:
    """Old Sendmail's host-level failure ("421 example.com (smtp)... Deferred: Connection timed
    out"), which names no address: it concerns the original's recipients at that host (or
    its only recipient). The Subject ("Returned mail: Cannot send message for 4 days") tells
    when it gave up."""
    quoted = _text.after(text, _SEPARATORS)
    head = quoted.lstrip("\n").split("\n\n", 1)[0]
    values = re.findall(r"^(?:To|Cc):(.*(?:\n[ \t].*)*)", head, re.I | re.M)
    addressed = [a.lower() for v in values for a in _text.ADDRESS.findall(v)]
    failures = [m for m in map(_HOST_FAILURE.match, map(str.strip, notice.split("\n"))) if m]
    for failure in failures:
        host = failure.group(2).lower().rstrip(".")
        for address in addressed:
            domain = address.rsplit("@", 1)[1]
            # the host is the domain itself, one of its MX hosts, or a parent of it
            if domain == host or host.endswith("." + domain) or domain.endswith("." + host):
                entry = found.setdefault(address, _Found())
                entry.reply = entry.reply or failure.group(0)
    if failures and not found and len(addressed) == 1:
        # an MX under another name: the original's only addressee is the one that failed
        found.setdefault(addressed[0], _Found()).reply = failures[0].group(0)
    gave_up = _GAVE_UP.search(subject)
    if gave_up:
        for entry in found.values():
            entry.reply = f"{entry.reply} ({gave_up.group(0)})"


def _delivery(recipient: str, found: _Found, action: Action, message_id: str | None) -> Delivery:
    diagnostic = found.reply or found.reason or found.summary or ""
    status = _text.find_status(diagnostic) or found.status
    reply_code = _text.find_reply_code(diagnostic)
    if reply_code is None and found.summary:
        reply_code = _text.find_reply_code(found.summary) or found.code
    return _text.delivery(
        recipient,
        fmt=NAME,
        diagnostic=diagnostic,
        action=action,
        status=status,
        reply_code=reply_code,
        remote_mta=found.remote_mta,
        original_message_id=message_id,
        command=found.command,
    )
