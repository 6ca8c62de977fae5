"""The shared vocabulary of returnpath: categories, reasons, and the frozen results.

Every other part (parsers, storage, poller, command line) speaks in these types.
Reason values are Sisimai's reason names so that results compare directly with it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    """What a returned message means for one recipient (DESIGN.md §1)."""

    HARD = "hard"
    SOFT = "soft"
    BLOCK = "block"
    DEFERRAL = "deferral"
    AUTO_REPLY = "auto_reply"
    DELIVERED = "delivered"
    COMPLAINT = "complaint"
    UNKNOWN = "unknown"

    @property
    def is_bounce(self) -> bool:
        """A failed delivery (hard, soft or block); deferrals are not bounces yet."""
        return self in (Category.HARD, Category.SOFT, Category.BLOCK)

    @property
    def unsubscribes(self) -> bool:
        """Whether this category can unsubscribe a recipient (complaints: depends on type)."""
        return self in (Category.HARD, Category.COMPLAINT)


class Reason(StrEnum):
    """The fine reason of a verdict; values are Sisimai's reason names."""

    # hard
    USER_UNKNOWN = "userunknown"
    HOST_UNKNOWN = "hostunknown"
    HAS_MOVED = "hasmoved"
    NOT_ACCEPT = "notaccept"
    # block
    BLOCKED = "blocked"
    BAD_REPUTATION = "badreputation"
    REQUIRE_PTR = "requireptr"
    REJECTED = "rejected"
    AUTH_FAILURE = "authfailure"
    SECURITY_ERROR = "securityerror"
    SPAM_DETECTED = "spamdetected"
    POLICY_VIOLATION = "policyviolation"
    VIRUS_DETECTED = "virusdetected"
    # soft
    MAILBOX_FULL = "mailboxfull"
    MESSAGE_TOO_BIG = "mesgtoobig"
    EXCEED_LIMIT = "exceedlimit"
    SYSTEM_FULL = "systemfull"
    SYSTEM_ERROR = "systemerror"
    NETWORK_ERROR = "networkerror"
    MAILER_ERROR = "mailererror"
    EXPIRED = "expired"
    SUSPEND = "suspend"
    FILTERED = "filtered"
    CONTENT_ERROR = "contenterror"
    NOT_COMPLIANT_RFC = "notcompliantrfc"
    NO_RELAYING = "norelaying"
    TOO_MANY_CONN = "toomanyconn"
    SPEEDING = "speeding"
    SYNTAX_ERROR = "syntaxerror"
    FAILED_STARTTLS = "failedstarttls"
    ON_HOLD = "onhold"
    UNDEFINED = "undefined"
    # non-bounces
    VACATION = "vacation"
    DELIVERED = "delivered"
    FEEDBACK = "feedback"


#: The category a reason implies for a failed delivery. `notaccept` is hard only with a
#: 5xx code; classify.py handles that case.
REASON_CATEGORY: dict[Reason, Category] = {
    Reason.USER_UNKNOWN: Category.HARD,
    Reason.HOST_UNKNOWN: Category.HARD,
    Reason.HAS_MOVED: Category.HARD,
    Reason.NOT_ACCEPT: Category.HARD,
    Reason.BLOCKED: Category.BLOCK,
    Reason.BAD_REPUTATION: Category.BLOCK,
    Reason.REQUIRE_PTR: Category.BLOCK,
    Reason.REJECTED: Category.BLOCK,
    Reason.AUTH_FAILURE: Category.BLOCK,
    Reason.SECURITY_ERROR: Category.BLOCK,
    Reason.SPAM_DETECTED: Category.BLOCK,
    Reason.POLICY_VIOLATION: Category.BLOCK,
    Reason.VIRUS_DETECTED: Category.BLOCK,
    Reason.MAILBOX_FULL: Category.SOFT,
    Reason.MESSAGE_TOO_BIG: Category.SOFT,
    Reason.EXCEED_LIMIT: Category.SOFT,
    Reason.SYSTEM_FULL: Category.SOFT,
    Reason.SYSTEM_ERROR: Category.SOFT,
    Reason.NETWORK_ERROR: Category.SOFT,
    Reason.MAILER_ERROR: Category.SOFT,
    Reason.EXPIRED: Category.SOFT,
    Reason.SUSPEND: Category.SOFT,
    Reason.FILTERED: Category.SOFT,
    Reason.CONTENT_ERROR: Category.SOFT,
    Reason.NOT_COMPLIANT_RFC: Category.SOFT,
    Reason.NO_RELAYING: Category.SOFT,
    Reason.TOO_MANY_CONN: Category.SOFT,
    Reason.SPEEDING: Category.SOFT,
    Reason.SYNTAX_ERROR: Category.SOFT,
    Reason.FAILED_STARTTLS: Category.SOFT,
    Reason.ON_HOLD: Category.SOFT,
    Reason.UNDEFINED: Category.SOFT,
    Reason.VACATION: Category.AUTO_REPLY,
    Reason.DELIVERED: Category.DELIVERED,
    Reason.FEEDBACK: Category.COMPLAINT,
}


class Action(StrEnum):
    """The DSN Action field (RFC 3464 §2.3.3), or NONE when the mail gives none."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"
    NONE = ""


class MessageKind(StrEnum):
    """What the returned message as a whole is."""

    DSN = "dsn"  # RFC 3464 multipart/report delivery-status
    BOUNCE = "bounce"  # a non-standard (plain-text or vendor) bounce
    AUTO_REPLY = "auto_reply"
    FEEDBACK = "feedback"  # RFC 5965 ARF report
    UNKNOWN = "unknown"


class VerpState(StrEnum):
    """Whether the bounce address carried a signed VERP token, and if it verified."""

    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"


#: Feedback types (RFC 5965) that unsubscribe the complained-about recipient.
UNSUBSCRIBING_FEEDBACK_TYPES = frozenset({"abuse", "fraud", "opt-out"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one delivery means, and the id of the rule that decided it."""

    category: Category
    reason: Reason
    rule: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """The facts a format pulled out of a message about one recipient.

    Formats fill the facts; `parse()` then sets `verdict` from `classify()`.
    Text fields are already decoded and stripped; absent facts are None.
    """

    recipient: str | None
    action: Action = Action.NONE
    status: str | None = None  # enhanced status code "5.1.1"
    reply_code: str | None = None  # SMTP reply code "550"
    diagnostic: str | None = None
    remote_mta: str | None = None
    last_attempt: str | None = None
    original_message_id: str | None = None
    feedback_type: str | None = None  # ARF only
    format: str = ""  # name of the format module that extracted it
    #: A hint from the format when the message itself states the meaning (an
    #: auto-reply, a feedback report, a positive DSN); classify() may use it.
    hint: Reason | None = None
    verdict: Verdict | None = None
    #: The SMTP command the remote reply answered ("CONN", "EHLO", "MAIL", "RCPT", "DATA"),
    #: when the mail says so: a 5xx after MAIL FROM rejects the sender, not the recipient.
    smtp_command: str | None = None


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything parse() learned from one returned message. Never raised, always returned."""

    kind: MessageKind
    deliveries: tuple[Delivery, ...] = ()
    defects: tuple[str, ...] = ()
    message_id: str | None = None  # of the returned message itself
    subject: str | None = None
    sender: str | None = None  # From of the returned message
    date: datetime | None = None
    format: str = ""  # the format module that recognised it
    original_message_id: str | None = None
    #: Headers of the returned original that matter for correlation (lower-cased names).
    original_headers: tuple[tuple[str, str], ...] = ()
    verp: VerpState = VerpState.ABSENT
    verp_recipient: str | None = None
    verp_campaign: str | None = None

    @property
    def recognised(self) -> bool:
        return self.kind is not MessageKind.UNKNOWN and bool(self.deliveries)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as read from a mailbox, with the key that makes recording idempotent."""

    source: str  # mailbox name, or "file" for a backfill over files
    folder: str
    uidvalidity: int | None
    uid: int | None
    data: bytes
    received_at: datetime | None = None
    path: str | None = None  # for file sources
    #: Added for the poller: the message's full size on the server. It differs from
    #: len(data) when a message over max_fetch_bytes was fetched in parts and reduced.
    size: int | None = None
    #: compress_raw(data), when a parse worker made it already (spared the process that
    #: records); None: the store compresses the bytes itself if it keeps them.
    compressed: bytes | None = field(default=None, compare=False, repr=False)


def compress_raw(data: bytes) -> bytes:
    """A message's bytes as the store keeps them (messages.raw, raw_encoding "zlib")."""
    return zlib.compress(data, 6)
