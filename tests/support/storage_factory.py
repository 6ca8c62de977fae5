"""Builders for RawMessage/ParseResult pairs, so storage tests do not depend on parse()."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from returnpath.model import (
    Action,
    Category,
    Delivery,
    MessageKind,
    ParseResult,
    RawMessage,
    Reason,
    Verdict,
    VerpState,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

_serial = itertools.count(1)

_ACTIONS = {
    Category.DEFERRAL: Action.DELAYED,
    Category.DELIVERED: Action.DELIVERED,
    Category.AUTO_REPLY: Action.NONE,
    Category.COMPLAINT: Action.NONE,
}
_KINDS = {
    Category.AUTO_REPLY: MessageKind.AUTO_REPLY,
    Category.COMPLAINT: MessageKind.FEEDBACK,
    Category.UNKNOWN: MessageKind.UNKNOWN,
}
_DEFAULT_REASON = {
    Category.HARD: Reason.USER_UNKNOWN,
    Category.SOFT: Reason.MAILBOX_FULL,
    Category.BLOCK: Reason.BLOCKED,
    Category.DEFERRAL: Reason.MAILBOX_FULL,
    Category.AUTO_REPLY: Reason.VACATION,
    Category.DELIVERED: Reason.DELIVERED,
    Category.COMPLAINT: Reason.FEEDBACK,
}


def delivery(
    recipient: str | None,
    category: Category,
    reason: Reason | None = None,
    *,
    original_message_id: str | None = None,
    feedback_type: str | None = None,
    status: str | None = None,
) -> Delivery:
    """One delivery with its verdict already decided."""
    verdict = None
    if category is not Category.UNKNOWN:
        verdict = Verdict(category, reason or _DEFAULT_REASON[category], f"test-{category}")
    return Delivery(
        recipient=recipient,
        action=_ACTIONS.get(category, Action.FAILED),
        status=status or ("5.1.1" if category is Category.HARD else None),
        diagnostic=f"{category} for {recipient}",
        original_message_id=original_message_id,
        feedback_type=feedback_type,
        format="test",
        verdict=verdict,
    )


def message(
    *deliveries: Delivery,
    source: str = "file",
    folder: str = "",
    uidvalidity: int | None = None,
    uid: int | None = None,
    data: bytes | None = None,
    received_at: datetime | None = None,
    verp: VerpState = VerpState.ABSENT,
    original_message_id: str | None = None,
    original_headers: tuple[tuple[str, str], ...] = (),
    message_id: str | None = None,
) -> tuple[RawMessage, ParseResult]:
    """A (raw, result) pair; distinct bytes on every call unless `data` is given."""
    serial = next(_serial)
    if data is None:
        data = f"Message-ID: <returned-{serial}@test>\r\n\r\nreturned mail {serial}\r\n".encode()
    first = deliveries[0].verdict.category if deliveries and deliveries[0].verdict else None
    kind = _KINDS.get(first, MessageKind.DSN) if first else MessageKind.UNKNOWN
    raw = RawMessage(
        source=source,
        folder=folder,
        uidvalidity=uidvalidity,
        uid=uid,
        data=data,
        received_at=received_at,
    )
    result = ParseResult(
        kind=kind,
        deliveries=tuple(deliveries),
        message_id=message_id or f"<returned-{serial}@test>",
        format="test",
        original_message_id=original_message_id,
        original_headers=original_headers,
        verp=verp,
    )
    return raw, result
