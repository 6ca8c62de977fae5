"""RFC 3464 delivery status notifications.

Recognised by a `message/delivery-status` (or RFC 6533 `message/global-delivery-status`)
part, usually inside `multipart/report; report-type=delivery-status`. Each per-recipient
block gives Final-/Original-Recipient, Action, Status, Diagnostic-Code, Remote-MTA and
Last-Attempt-Date; the recipient is Original-Recipient when given (the address the sender
used, before forwarding or alias expansion), else Final-Recipient. Many mail systems send
the same fields as plain text in the body; those are accepted too when the block is
unmistakable (a recipient field plus Action or Status).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message, clean_address, paragraph_about, parse_fields
from returnpath.parsers.smtp import diagnostic_codes, diagnostic_text, last_command, strip_type

NAME = "dsn"

_ACTIONS = {a.value: a for a in Action if a is not Action.NONE}
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
#: A body that carries DSN fields inline, not in their own part.
#: Each recipient's facts are looked up in the notification text (a linear search): past this
#: many recipients, the DSN fields alone have to do, so a huge list bounce stays fast.
_TEXT_SEARCH_MAX = 200
_INLINE = re.compile(r"^(?:Final|Original)-Recipient[ \t]*:", re.I | re.M)


def _action(value: str) -> Action:
    word = value.strip().lower().split(" ", 1)[0].strip(";,.()") if value.strip() else ""
    if word in _ACTIONS:
        return _ACTIONS[word]
    # seen in the wild: "failure", "delay", "deferred", "success"
    if word.startswith("fail"):
        return Action.FAILED
    if word.startswith(("delay", "defer")):
        return Action.DELAYED
    if word.startswith(("deliver", "success")):
        return Action.DELIVERED
    return Action.NONE


def _host(value: str) -> str:
    """The host a Remote-MTA field names, without its type, a comment after it or the root
    dot ("dns; mx.example.org. (203.0.113.250, the server for the domain example.org.)")."""
    words = strip_type(value).split()
    return words[0].rstrip(".") if words else ""


def _status(value: str) -> str | None:
    m = _STATUS.search(value)
    return f"{m.group(1)}.{m.group(2)}.{m.group(3)}" if m else None


def _blocks(text: str, fmt: str) -> list[tuple[Delivery, tuple[str, ...]]]:
    """Each per-recipient block as a Delivery, with every address the block names for that
    recipient (the notification text may name the Final-Recipient only)."""
    per_message: dict[str, str] = {}
    deliveries: list[tuple[Delivery, tuple[str, ...]]] = []
    for block in parse_fields(text):
        fields: dict[str, str] = {}
        for name, value in block:
            # the first occurrence wins, except that a later non-empty value fills an empty one
            if not fields.get(name):
                fields[name] = value
        final = clean_address(strip_type(fields.get("final-recipient", "")))
        original = clean_address(strip_type(fields.get("original-recipient", "")))
        actual = clean_address(strip_type(fields.get("x-actual-recipient", "")))
        # Original-Recipient is the address the sender gave (before any forwarding or alias
        # expansion at the receiving side): the address the contact list holds
        recipient = original or final or actual
        if recipient is None:
            per_message.update(fields)
            continue
        diagnostic = diagnostic_text(fields.get("diagnostic-code", "")) or None
        status = _status(fields.get("status", ""))
        reply_code, text_status = diagnostic_codes(diagnostic or "")
        if status is None:
            status = text_status
        remote = _host(fields.get("remote-mta", "") or per_message.get("remote-mta", ""))
        names = tuple(dict.fromkeys(a for a in (original, final, actual) if a))
        deliveries.append(
            (
                Delivery(
                    recipient=recipient,
                    action=_action(fields.get("action", "")),
                    status=status,
                    reply_code=reply_code,
                    diagnostic=diagnostic,
                    remote_mta=remote or None,
                    last_attempt=fields.get("last-attempt-date") or None,
                    format=fmt,
                ),
                names,
            )
        )
    return deliveries


def extract(msg: Message) -> Extraction:
    """The per-recipient blocks of a DSN; NOT_MINE without a delivery-status part or fields."""
    if msg.status_parts:
        blocks = _blocks(msg.status_text, NAME)
    elif _INLINE.search(msg.text):
        blocks = _blocks(msg.text, NAME)
        # inline fields count only when they say what happened
        if not any(d.action is not Action.NONE or d.status for d, _ in blocks):
            return NOT_MINE
    else:
        return NOT_MINE
    if not blocks:
        return NOT_MINE
    text = msg.text if msg.status_parts else ""
    return Extraction(
        kind=MessageKind.DSN,
        deliveries=tuple(
            _with_text(d, names, text, len(blocks) == 1) if i < _TEXT_SEARCH_MAX else d
            for i, (d, names) in enumerate(blocks)
        ),
    )


def _with_text(delivery: Delivery, names: tuple[str, ...], text: str, only: bool) -> Delivery:
    """The delivery completed from the human-readable part: the SMTP command the reply
    answered, the whole of a multi-line reply, and the reply itself when the DSN has no
    Diagnostic-Code."""
    if not text:
        return delivery
    changes: dict[str, Any] = {}
    if delivery.diagnostic and _FIRST_OF_MANY.match(delivery.diagnostic):
        full = _whole_reply(text, delivery.diagnostic)
        if full:
            changes["diagnostic"] = full
    paragraph, named = None, ""
    for name in names:
        paragraph, named = paragraph_about(text, name), name
        if paragraph is not None:
            break
    if paragraph is None:
        return replace(delivery, **changes) if changes else delivery
    command = last_command(paragraph) or _command_before_last_mention(text, named)
    if command is None and only:
        # one recipient: the session transcript, wherever it is, is about it
        command = last_command(text)
    if command and not delivery.smtp_command:
        changes["smtp_command"] = command
    if not delivery.diagnostic and _says_something(paragraph):
        changes["diagnostic"] = paragraph
        code, status = diagnostic_codes(paragraph)
        if code and not delivery.reply_code:
            changes["reply_code"] = code
        if status and (not delivery.status or delivery.status.endswith(".0.0")):
            changes["status"] = (
                status if status[0] == (delivery.status or status)[0] else (delivery.status)
            )
    return replace(delivery, **changes) if changes else delivery


_ADDRESS = re.compile(r"\S+@\S+")


def _says_something(paragraph: str) -> bool:
    """Whether a paragraph says more than the address it names (a bare list item does not)."""
    return len(_ADDRESS.sub(" ", paragraph).split()) >= 2


#: The first line of a multi-line SMTP reply ("552-5.7.0 ..."): Sendmail's Diagnostic-Code
#: keeps only that line, its transcript has them all.
_FIRST_OF_MANY = re.compile(r"^([245]\d\d)-")
_LEADING_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\s*")


def _whole_reply(text: str, first_line: str) -> str | None:
    """All lines of the multi-line reply that starts with `first_line`, from the transcript."""
    m = _FIRST_OF_MANY.match(first_line)
    if m is None:
        return None
    code, needle = m.group(1), first_line[:60]
    at = text.find(needle)
    while at >= 0:
        lines: list[str] = []
        for line in text[at : at + 4096].split("\n")[:20]:
            body = line.strip().removeprefix("<<<").strip()
            if not body.startswith(code):
                break
            rest = body[4:].strip() if body[3:4] in ("-", " ") else body
            if lines:
                rest = _LEADING_STATUS.sub("", rest)  # each line repeats the status code
            lines.append(rest)
            if body[3:4] == " ":
                break  # "552 " ends the reply
        if len(lines) >= 2:
            return f"{code} " + " ".join(lines)
        at = text.find(needle, at + 1)
    return None


def _command_before_last_mention(text: str, recipient: str) -> str | None:
    """The last command of a session transcript before its last mention of the recipient
    (Sendmail: ">>> DATA" then "<<< 550 ... user@example.com")."""
    at = text.lower().rfind(recipient.lower())
    if at < 0:
        return None
    end = text.find("\n", at)
    return last_command(text[max(0, at - 8192) : end if end >= 0 else len(text)])
