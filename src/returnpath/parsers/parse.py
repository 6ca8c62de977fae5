"""parse(): one returned message in, per-recipient verdicts out. Never raises.

The pipeline: Message(raw) -> the first format in FORMATS that claims the message ->
recipients filled and normalised (a verified VERP token first, then the DSN's recipient
fields, then X-Failed-Recipients, then flufl.bounce's detectors, then the format's own
text) -> classify() each delivery -> ParseResult with the original's Message-ID and
correlation headers and the VERP state.
"""

from __future__ import annotations

import email.message
import email.utils
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from returnpath.model import Action, Delivery, MessageKind, ParseResult, VerpState
from returnpath.parsers import verp
from returnpath.parsers.classify import classify
from returnpath.parsers.formats import FORMATS, NOT_MINE, Extraction, fallback
from returnpath.parsers.message import TEXT_LIMIT, Message, clean_address, decode_header_value


@dataclass(frozen=True)
class ParseOptions:
    """What parse() needs beyond the bytes; all optional."""

    #: Key that signs VERP tokens. None: tokens are not checked and the result says ABSENT
    #: (an unverifiable token is no evidence of anything).
    verp_secret: bytes | None = None
    correlation_headers: tuple[str, ...] = ("X-Campaign-ID", "X-Contact-ID")


_DEFAULT_OPTIONS = ParseOptions()


def parse(raw: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Everything the message says about each recipient; UNKNOWN with defects when nothing."""
    try:
        return _parse(raw, options or _DEFAULT_OPTIONS)
    except Exception as exc:  # the contract: parse() never raises, whatever the bytes
        return ParseResult(
            kind=MessageKind.UNKNOWN, defects=(f"ParserError: {type(exc).__name__}: {exc}",)
        )


def _parse(raw: bytes, options: ParseOptions) -> ParseResult:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse() takes bytes, not {type(raw).__name__}")
    msg = Message(bytes(raw))
    defects = list(msg.defects)
    if "EmptyMessage" in defects:
        return ParseResult(kind=MessageKind.UNKNOWN, defects=tuple(defects))

    extraction, fmt = NOT_MINE, ""
    for module in FORMATS:
        try:
            found = module.extract(msg)
        except Exception as exc:  # one broken format must not hide the others
            defects.append(f"FormatError: {module.NAME}: {type(exc).__name__}: {exc}")
            continue
        if found is not NOT_MINE and found:
            extraction, fmt = found, module.NAME
            break

    token = verp.find_token(msg, options.verp_secret)
    deliveries = _recipients(msg, extraction, token)

    original = msg.original_headers
    return ParseResult(
        kind=extraction.kind if deliveries else MessageKind.UNKNOWN,
        deliveries=tuple(deliveries),
        defects=tuple(dict.fromkeys(defects)),
        message_id=msg.header("Message-ID") or None,
        subject=msg.subject or None,
        sender=msg.from_header or None,
        date=_date(msg.header("Date")),
        format=fmt if deliveries else "",
        original_message_id=msg.original_message_id,
        original_headers=_correlation(msg, original, options.correlation_headers),
        verp=token.state if token else VerpState.ABSENT,
        verp_recipient=token.recipient if token and token.state is VerpState.VALID else None,
        verp_campaign=token.campaign if token and token.state is VerpState.VALID else None,
    )


def _recipients(
    msg: Message, extraction: Extraction, token: verp.VerpToken | None
) -> list[Delivery]:
    """The extraction's deliveries with recipients filled, normalised and deduplicated, each
    with its verdict."""
    deliveries = list(extraction.deliveries)
    is_bounce = extraction.kind in (MessageKind.DSN, MessageKind.BOUNCE)
    if is_bounce and any(d.recipient is None for d in deliveries):
        known = {d.recipient for d in deliveries}
        spare = [a for a in fallback.failed_recipients_header(msg) if a not in known]
        if not spare:
            spare = fallback.recipients(msg)
        filled: list[Delivery] = []
        for d in deliveries:
            if d.recipient is None and spare:
                d = replace(d, recipient=spare.pop(0))
            filled.append(d)
        deliveries = filled

    verified = token.recipient if token and token.state is VerpState.VALID else None
    if verified and (is_bounce or extraction.kind is MessageKind.AUTO_REPLY):
        # the signed token names the address we mailed: it beats whatever the bounce (or the
        # auto-responder, replying to the return path from an alias) says
        wanted = clean_address(verified)
        if not deliveries and is_bounce:
            deliveries = [Delivery(recipient=verified, action=Action.FAILED, format="verp")]
        elif not any(clean_address(d.recipient) == wanted for d in deliveries) and (
            len(deliveries) == 1 or all(d.recipient is None for d in deliveries)
        ):
            deliveries = [replace(deliveries[0], recipient=verified)]

    original_id = msg.original_message_id
    seen: set[str | None] = set()
    out: list[Delivery] = []
    for d in deliveries:
        recipient = clean_address(d.recipient) if d.recipient else None
        if recipient is not None and recipient in seen:
            continue
        seen.add(recipient)
        # one replace() per delivery: the verdict does not depend on the recipient fields
        changes: dict[str, Any] = {"verdict": classify(d)}
        if recipient != d.recipient:
            changes["recipient"] = recipient
        if original_id and not d.original_message_id:
            changes["original_message_id"] = original_id
        out.append(replace(d, **changes))
    return out


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _correlation(
    msg: Message, original: email.message.Message | None, names: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """The configured correlation headers of the returned original (lower-cased names)."""
    if not names:
        return ()
    found: list[tuple[str, str]] = []
    for name in names:
        value = ""
        if original is not None:
            value = decode_header_value(original.get(name))
        elif msg.original_part is None:
            # a plain-text bounce that quotes the original's headers in its body
            text = msg.text[:TEXT_LIMIT]
            if text.isascii() and name.isascii() and name.lower() not in text.lower():
                continue  # cheap proof of absence (ASCII only: re.I folds some other letters)
            pattern = rf"^[ \t>]*{re.escape(name)}[ \t]*:[ \t]*(\S.*)$"
            m = re.search(pattern, text, re.I | re.M)
            value = m.group(1).strip() if m else ""
        if value:
            found.append((name.lower(), value))
    return tuple(found)
