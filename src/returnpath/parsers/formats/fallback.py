"""Last resort: flufl.bounce's detectors, gated, for bounces no format module understood.

Recognised when the message presents itself as a bounce (Message.looks_like_bounce: report
content type, mailer-daemon sender, failure subject, X-Failed-Recipients) and
X-Failed-Recipients or flufl.bounce name failed recipients. It extracts recipients only; the
diagnostic is the notification paragraph that names the recipient, for classify() to read.

flufl.bounce knows 17 heuristic formats but gives only addresses (as bytes), and its
detectors scan the whole message: about 0.6 s on a 2 MB non-bounce message. So it runs
only on mail that presents itself as a bounce (Message.looks_like_bounce) and is no larger
than FLUFL_MAX_BYTES.
"""

from __future__ import annotations

import email.utils
import logging

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message, clean_address, paragraph_about
from returnpath.parsers.smtp import diagnostic_codes

NAME = "fallback"

#: Larger messages are never handed to flufl.bounce; real notifications are far smaller
#: unless they return a big original, whose recipients the formats find without flufl.
FLUFL_MAX_BYTES = 256 * 1024

_log = logging.getLogger(__name__)


def gate(msg: Message) -> bool:
    """Whether flufl.bounce may look at this message."""
    return msg.size <= FLUFL_MAX_BYTES and msg.looks_like_bounce


def failures(msg: Message) -> tuple[list[str], list[str]]:
    """(temporary, permanent) failed recipients per flufl.bounce; empty when gated out."""
    if not gate(msg):
        return [], []
    try:
        from flufl.bounce import all_failures

        temporary, permanent = all_failures(msg.msg)
    except Exception as exc:  # a third-party heuristic must not break parse()
        _log.debug("flufl.bounce failed: %s", exc)
        return [], []
    return _addresses(temporary), _addresses(permanent)


def recipients(msg: Message) -> list[str]:
    """Every failed recipient flufl.bounce finds, permanent first."""
    temporary, permanent = failures(msg)
    return list(dict.fromkeys(permanent + temporary))


def _addresses(found: object) -> list[str]:
    out: list[str] = []
    for item in sorted(found, key=repr) if isinstance(found, set | frozenset) else []:
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        address = clean_address(text)
        if address and address not in out:
            out.append(address)
    return out


def failed_recipients_header(msg: Message) -> list[str]:
    """The addresses of the X-Failed-Recipients header(s) (Exim and others set it)."""
    found: list[str] = []
    for _, addr in email.utils.getaddresses(msg.headers("X-Failed-Recipients")):
        address = clean_address(addr)
        if address and address not in found:
            found.append(address)
    return found


def extract(msg: Message) -> Extraction:
    """Failed recipients from X-Failed-Recipients or flufl.bounce; NOT_MINE when none or gated."""
    if not gate(msg):
        return NOT_MINE
    header = failed_recipients_header(msg)
    temporary, permanent = failures(msg)
    ordered = list(dict.fromkeys(header + permanent + temporary))
    if not ordered:
        return NOT_MINE
    text = msg.text
    deliveries = []
    for address in ordered:
        diagnostic = paragraph_about(text, address)
        code, status = diagnostic_codes(diagnostic or "")
        action = (
            Action.DELAYED if address in temporary and address not in permanent else (Action.FAILED)
        )
        deliveries.append(
            Delivery(
                recipient=address,
                action=action,
                status=status,
                reply_code=code,
                diagnostic=diagnostic,
                format=NAME,
            )
        )
    return Extraction(kind=MessageKind.BOUNCE, deliveries=tuple(deliveries))
