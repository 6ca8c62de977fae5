"""RFC 5965 Abuse Reporting Format (feedback loop) reports.

Recognised by a `message/feedback-report` part (inside `multipart/report;
report-type=feedback-report`), or by such a report whose fields come as text/plain. The
complained-about recipient is Original-Rcpt-To or Removal-Recipient in the report, else the
To of the returned original when it names a single address (with several, the report does
not say who complained). Feedback-Type (abuse, fraud, opt-out, auth-failure, not-spam,
virus, other) is kept on each delivery.

Also Microsoft's pre-ARF junk-mail reports (Outlook.com/Hotmail JMRP): no feedback-report
part, but the returned original carries X-HmXmrOriginalRecipient, the complainer's address;
they are abuse reports.
"""

from __future__ import annotations

import email.message
import email.utils
import re

from returnpath.model import Delivery, MessageKind, Reason
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import (
    Message,
    block_rest,
    clean_address,
    decode_header_value,
    parse_fields,
)
from returnpath.parsers.message import part_text as _part_text

NAME = "arf"

_REPORT_TYPES = ("message/feedback-report",)
_FEEDBACK_TYPE = re.compile(r"^Feedback-Type[ \t]*:", re.I | re.M)


def _report_text(msg: Message) -> str | None:
    for part, ctype in msg.walk:
        if ctype not in _REPORT_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            lines: list[str] = []
            for block in payload:
                if isinstance(block, email.message.Message):
                    lines.extend(f"{k}: {decode_header_value(v)}" for k, v in block.items())
                    lines.append(block_rest(block))
            return "\n".join(lines)
        return _part_text(part)
    if (
        msg.content_type == "multipart/report"
        and "feedback-report" in str(msg.raw_header("Content-Type") or "").lower()
    ):
        # a report that declares itself a feedback report but sends its fields as text/plain
        for part, ctype in msg.walk:
            if ctype == "text/plain":
                text = _part_text(part)
                if _FEEDBACK_TYPE.search(text):
                    return text
    return None


def extract(msg: Message) -> Extraction:
    """The complaint of a feedback report; NOT_MINE without a message/feedback-report part."""
    text = _report_text(msg)
    if text is None:
        return _microsoft_report(msg)
    fields: dict[str, list[str]] = {}
    for block in parse_fields(text):
        for name, value in block:
            fields.setdefault(name, []).append(value)
    feedback_type = (fields.get("feedback-type") or ["other"])[0].strip().lower() or "other"
    recipients: list[str] = []
    for name in ("original-rcpt-to", "removal-recipient"):
        for value in fields.get(name, []):
            address = clean_address(value)
            if address and address not in recipients:
                recipients.append(address)
    original = msg.original_headers
    if not recipients and original is not None:
        addressed: list[str] = []
        for _, addr in email.utils.getaddresses(
            [decode_header_value(v) for v in original.get_all("To", [])]
        ):
            address = clean_address(addr)
            if address and address not in addressed:
                addressed.append(address)
        # with several addressees the report does not say which one complained
        if len(addressed) == 1:
            recipients = addressed
    original_id = msg.original_message_id
    deliveries = tuple(
        Delivery(
            recipient=r,
            feedback_type=feedback_type,
            original_message_id=original_id,
            format=NAME,
            hint=Reason.FEEDBACK,
        )
        for r in (recipients or [None])  # type: ignore[list-item]
    )
    return Extraction(kind=MessageKind.FEEDBACK, deliveries=deliveries)


def _microsoft_report(msg: Message) -> Extraction:
    if b"X-HmXmrOriginalRecipient" not in msg.raw:
        return NOT_MINE
    original = msg.original_headers
    if original is None or original.get("X-HmXmrOriginalRecipient") is None:
        return NOT_MINE
    recipient = clean_address(decode_header_value(original.get("X-HmXmrOriginalRecipient")))
    delivery = Delivery(
        recipient=recipient,
        feedback_type="abuse",
        original_message_id=msg.original_message_id,
        format=NAME,
        hint=Reason.FEEDBACK,
    )
    return Extraction(kind=MessageKind.FEEDBACK, deliveries=(delivery,))
