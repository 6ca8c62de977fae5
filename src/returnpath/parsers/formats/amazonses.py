"""Amazon SES notifications delivered by email (SES feedback forwarding through SNS).

Recognised by a JSON body with "notificationType" or "eventType" (either the SES notification
itself or the SNS envelope whose "Message" field holds it as a string), usually from
no-reply@sns.amazonaws.com with Subject "AWS Notification Message". "Bounce" lists
bouncedRecipients with action, status and diagnosticCode; "Complaint" lists
complainedRecipients with complaintFeedbackType; "Delivery" lists the delivered recipients
and the smtpResponse; "DeliveryDelay" (event publishing) lists delayedRecipients, which SES
keeps trying. SES's own RFC 3464 bounces are read by dsn.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from returnpath.model import Action, Delivery, MessageKind, Reason
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "amazonses"

_ACTIONS = {a.value: a for a in Action}


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    # "notificationType" in feedback notifications, "eventType" in event publishing.
    # (inside an SNS envelope the names are escaped: \"eventType\")
    if "notificationType" not in text and "eventType" not in text:
        return NOT_MINE
    note = _notification(text)
    if note is None:
        return NOT_MINE
    kind = str(note.get("notificationType") or note.get("eventType") or "")
    message_id = _message_id(note.get("mail"))
    if kind == "Bounce":
        return _bounce(_dict(note.get("bounce")), message_id)
    if kind == "Complaint":
        return _complaint(_dict(note.get("complaint")), message_id)
    if kind == "Delivery":
        return _delivered(_dict(note.get("delivery")), message_id)
    if kind == "DeliveryDelay":
        return _delayed(_dict(note.get("deliveryDelay")), message_id)
    return NOT_MINE


def _notification(text: str) -> dict[str, Any] | None:
    """The SES notification object, unwrapped from an SNS envelope when there is one."""
    # Mail systems break SNS's long lines with "!" + newline + space; undo that first.
    text = text.replace("!\n ", "")
    start = text.find("{")
    if start < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("Message"), str):
        try:
            obj = json.loads(obj["Message"])
        except ValueError:
            return None
    return obj if isinstance(obj, dict) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _message_id(mail: object) -> str | None:
    for header in _list(_dict(mail).get("headers")):
        header = _dict(header)
        if str(header.get("name", "")).lower() == "message-id":
            return str(header.get("value") or "") or None
    common = _dict(_dict(mail).get("commonHeaders"))
    value = common.get("messageId")
    return str(value) if value else None


def _recipients(items: object) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(item, recipient, diagnostic without its "smtp;" type) for each listed recipient."""
    for raw in _list(items):
        item = _dict(raw)
        recipient = _text.clean_address(str(item.get("emailAddress") or ""))
        if not recipient:
            continue
        diagnostic = str(item.get("diagnosticCode") or "")
        if ";" in diagnostic[:8]:
            diagnostic = diagnostic.split(";", 1)[1]
        yield item, recipient, diagnostic


def _extraction(deliveries: list[Delivery]) -> Extraction:
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.BOUNCE, deliveries=tuple(deliveries))


def _bounce(bounce: dict[str, Any], message_id: str | None) -> Extraction:
    return _extraction([
        _text.delivery(
            recipient,
            fmt=NAME,
            diagnostic=diagnostic or None,
            action=_ACTIONS.get(str(item.get("action") or "").lower(), Action.FAILED),
            status=str(item.get("status") or "") or None,
            original_message_id=message_id,
        )
        for item, recipient, diagnostic in _recipients(bounce.get("bouncedRecipients"))
    ])


def _delayed(delay: dict[str, Any], message_id: str | None) -> Extraction:
    """An event-publishing DeliveryDelay: SES keeps trying each of delayedRecipients."""
    # without a reply, SES's delayType ("MailboxFull", "TransientCommunicationFailure") is
    # all it says of the cause
    cause = _words(str(delay.get("delayType") or ""))
    return _extraction([
        _text.delivery(
            recipient,
            fmt=NAME,
            diagnostic=diagnostic.strip() or cause or None,
            action=Action.DELAYED,
            status=str(item.get("status") or "") or None,
            original_message_id=message_id,
        )
        for item, recipient, diagnostic in _recipients(delay.get("delayedRecipients"))
    ])


def _words(name: str) -> str:
    """ "MailboxFull" -> "mailbox full": SES's CamelCase names in the words rules read."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


def _complaint(complaint: dict[str, Any], message_id: str | None) -> Extraction:
    feedback_type = str(complaint.get("complaintFeedbackType") or "abuse")
    deliveries = []
    for item in _list(complaint.get("complainedRecipients")):
        recipient = _text.clean_address(str(_dict(item).get("emailAddress") or ""))
        if recipient:
            deliveries.append(
                Delivery(
                    recipient=recipient,
                    feedback_type=feedback_type,
                    original_message_id=message_id,
                    format=NAME,
                    hint=Reason.FEEDBACK,
                )
            )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.FEEDBACK, deliveries=tuple(deliveries))


def _delivered(delivery: dict[str, Any], message_id: str | None) -> Extraction:
    response = str(delivery.get("smtpResponse") or "")
    deliveries = []
    for item in _list(delivery.get("recipients")):
        recipient = _text.clean_address(str(item))
        if recipient:
            deliveries.append(
                Delivery(
                    recipient=recipient,
                    action=Action.DELIVERED,
                    status=_text.find_status(response),
                    reply_code=_text.find_reply_code(response),
                    diagnostic=response or None,
                    remote_mta=str(delivery.get("remoteMtaIp") or "") or None,
                    original_message_id=message_id,
                    format=NAME,
                    hint=Reason.DELIVERED,
                )
            )
    if not deliveries:
        return NOT_MINE
    return Extraction(kind=MessageKind.DSN, deliveries=tuple(deliveries))
