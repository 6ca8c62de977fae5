"""Helpers shared by the plain-text and vendor bounce formats.

Text bounces say the same few things in different words: a list of recipients, each with
the remote server's reply, then a copy of the original. These helpers find addresses,
status codes and reply codes in such text, cut the notification at the start of the
returned copy, and pull the original's Message-ID. Everything here is pure and never
raises on odd input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from returnpath.model import Action, Delivery, Reason
from returnpath.parsers.message import Message, part_text

#: Text formats never read more than this many characters of a notification.
TEXT_LIMIT = 256 * 1024

# ASCII and Latin letters with diacritics (SMTPUTF8 addresses such as "józef@bücher.example"
# would otherwise lose their first letters), and no "/" in the local part, so that neither
# the CJK text written around an address nor a file path ending in one is taken into it.
_ADDR = (
    r"[A-Za-z0-9\u00c0-\u024f.!#$%&'*+=?^_`{|}~-]+"
    r"@[A-Za-z0-9\u00c0-\u024f-]+(?:\.[A-Za-z0-9\u00c0-\u024f-]+)+"
)
ADDRESS = re.compile(_ADDR)
#: An address that stands alone on its line, possibly in angle brackets or followed by ":".
ADDRESS_LINE = re.compile(rf"^\s*<?({_ADDR})>?:?\s*$")
#: An enhanced status code (RFC 3463), not part of a dotted IP address or version number.
STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.]*\d)")
#: An SMTP reply code at the start of a reply ("550 ", "550-", "550 5.1.1").
REPLY_CODE = re.compile(r"(?<![\d.\w-])([245][0-5]\d)(?=[ \-]|$)")
_REPLY_PREFIX = re.compile(r"^[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?")
_MESSAGE_ID = re.compile(r"^[ \t]*message-id:[ \t]*(.*(?:\n[ \t].*)*)", re.I | re.M)
_ANGLE_ID = re.compile(r"<[^<>\s]+>")


_COMMANDS = (
    ("MAIL FROM", "MAIL"),
    ("RCPT TO", "RCPT"),
    ("END OF DATA", "DATA"),
    ("DATA", "DATA"),
    ("EHLO", "EHLO"),
    ("HELO", "EHLO"),
    ("INITIAL CONNECTION", "CONN"),
    ("GREETING", "CONN"),
    ("CONNECT", "CONN"),
)


# "after RCPT command", "(in reply to MAIL command)": the verb alone.
_BARE_COMMAND = re.compile(r"\b(RCPT|MAIL|DATA|EHLO)\b")


def smtp_command(context: str) -> str | None:
    """The SMTP command named in "after RCPT TO:<x>" or "(in reply to MAIL FROM command)"."""
    upper = context.upper()
    for phrase, command in _COMMANDS:
        if phrase in upper:
            return command
    bare = _BARE_COMMAND.search(upper)
    return bare.group(1) if bare else None


_DAEMONS = ("mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster", "mdaemon", "bounce")
_DAEMON_NAMES = (
    "mail delivery",
    "mailer-daemon",
    "mailer daemon",
    "postmaster",
    # appliances and servers that sign with their own name (Courier, Barracuda, amavis)
    "mail server",
    "mail system",
    "mail administrator",
    "system administrator",
    "spam firewall",
    "content-filter",
    "email security",
    "delivery subsystem",
)


def header(msg: Message, name: str) -> str:
    """A decoded header of the bounce, "" when absent or undecodable (never raises)."""
    try:
        return msg.header(name)
    except Exception:  # broken RFC 2047 words raise HeaderParseError
        return ""


def subject(msg: Message) -> str:
    """The bounce's Subject, "" when absent or undecodable."""
    return header(msg, "Subject")


def from_address(msg: Message) -> str:
    """The bare, lower-cased From address of the bounce ("" when none or undecodable)."""
    return clean_address(header(msg, "From")) or ""


def from_daemon(msg: Message) -> bool:
    """Whether the message comes from a mail system rather than a person (From or Return-Path)."""
    local = from_address(msg).partition("@")[0]
    if any(local.startswith(name) for name in _DAEMONS):
        return True
    name = header(msg, "From").lower()
    if any(word in name for word in _DAEMON_NAMES):
        return True
    if "<>" in name or "<@>" in name:
        return True  # Courier signs "Courier mail server at HOST <@>"
    return header(msg, "Return-Path").strip() == "<>"


def unfold(text: str) -> str:
    """Collapse all whitespace runs (line breaks included) into single spaces."""
    return " ".join(text.split())


def clean_address(value: str) -> str | None:
    """The bare, lower-cased address found in `value`, or None."""
    match = ADDRESS.search(value or "")
    if not match:
        return None
    return match.group(0).strip(".'`").lower() or None


def text_of(msg: Message) -> str:
    """The notification text (at most TEXT_LIMIT characters) that text formats read.

    Usually `msg.text`. When MIME damage leaves that empty (a boundary parameter folded
    without indentation hides every part), the raw body after the header block stands in
    for it, so the words of the notification are still there to recognise.
    """
    text = msg.text
    if text.strip():
        return text[:TEXT_LIMIT]
    # Kept on the instance (as cached_property does) so that the twenty formats that may ask
    # about one damaged message decode its body once.
    cached = msg.__dict__.get("_raw_body_text")
    if cached is None:
        head_end = msg.raw.find(b"\n\n")
        body = msg.raw[head_end + 2 : head_end + 2 + TEXT_LIMIT] if head_end >= 0 else b""
        try:
            cached = body.decode("utf-8")
        except UnicodeDecodeError:
            cached = body.decode("latin-1")
        msg.__dict__["_raw_body_text"] = cached
    return cached


def cut(text: str, separators: Sequence[str]) -> str:
    """`text` up to the first occurrence of any separator."""
    end = len(text)
    for sep in separators:
        pos = text.find(sep)
        if 0 <= pos < end:
            end = pos
    return text[:end]


def after(text: str, separators: Sequence[str]) -> str:
    """The text after the first occurring separator ("" when none occurs)."""
    best = -1
    length = 0
    for sep in separators:
        pos = text.find(sep)
        if pos >= 0 and (best < 0 or pos < best):
            best, length = pos, len(sep)
    return text[best + length :] if best >= 0 else ""


def find_status(text: str) -> str | None:
    """The first enhanced status code in `text`, or None."""
    match = STATUS.search(text or "")
    return match.group(1) if match else None


def find_reply_code(text: str) -> str | None:
    """The first SMTP reply code in `text`, or None."""
    match = REPLY_CODE.search(text or "")
    return match.group(1) if match else None


def join_reply(lines: Iterable[str]) -> str:
    """A multi-line SMTP reply ("550-a", "550-b", "550 c") as one line "550 a b c"."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if out and _REPLY_PREFIX.match(line) and out[0][:3] == line[:3]:
            line = _REPLY_PREFIX.sub("", line, count=1)
        out.append(line)
    text = unfold(" ".join(out))
    # "550-Your message" -> "550 Your message" for the first line too.
    if len(text) > 4 and text[:3].isdigit() and text[3] == "-":
        text = text[:3] + " " + text[4:]
    return text


_LEAD = re.compile(r"^([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3})\s+)?")


def squeeze_reply(reply: str) -> str:
    """An unfolded multi-line reply ("550-5.1.1 a 550-5.1.1 b 550 5.1.1 c") as "550 5.1.1 a b c".

    The code (and enhanced status) repeated at the start of each continuation line is noise
    for a reader and for the classification rules alike.
    """
    lead = _LEAD.match(reply)
    if not lead:
        return reply
    code, status = lead.group(1), lead.group(2)
    head = f"{code} {status}" if status else code
    rest = reply[lead.end() :]
    repeat = rf"{code}[ -]{re.escape(status)}\s+" if status else rf"{code}[ -](?=\S)"
    rest = re.sub(rf"(?:(?<=\s)|^){repeat}", "", rest)
    return f"{head} {rest}".strip()


def original_message_id(msg: Message, quoted: str = "") -> str | None:
    """The returned original's Message-ID: from its MIME part, else from quoted header text."""
    part = msg.original_part
    if part is not None:
        try:
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                value = payload[0].get("Message-ID")
                if value:
                    return _message_id_of(unfold(str(value)))
            text = part_text(part) if not isinstance(payload, list) else ""
        except Exception:  # damaged original: look no further
            return None
        if text:
            quoted = text
    if not quoted:
        return None
    match = _MESSAGE_ID.search(quoted[:TEXT_LIMIT])
    if not match:
        return None
    return _message_id_of(unfold(match.group(1)))


def _message_id_of(value: str) -> str | None:
    """The "<id>" in a Message-ID value; an indented header list ("  Message-id: <id>" then
    "  From: ...") reads as one folded header, so only the id itself is kept."""
    angle = _ANGLE_ID.search(value)
    return angle.group(0) if angle else (value.split(" ", 1)[0] or None)


def original_recipients(msg: Message) -> list[str]:
    """The To and Cc addresses of the returned original's headers (MIME part only)."""
    part = msg.original_part
    if part is None:
        return []
    try:
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            headers = payload[0]
            values = [str(v) for name in ("To", "Cc") for v in headers.get_all(name, [])]
        else:
            text = part_text(part)
            head = text.split("\n\n", 1)[0]
            values = re.findall(r"^(?:To|Cc):(.*(?:\n[ \t].*)*)", head, re.I | re.M)
    except Exception:  # a damaged original names no one
        return []
    return list(dict.fromkeys(a.lower() for v in values for a in ADDRESS.findall(v)))


def delivery(
    recipient: str,
    *,
    fmt: str,
    diagnostic: str | None,
    action: Action = Action.FAILED,
    status: str | None = None,
    reply_code: str | None = None,
    remote_mta: str | None = None,
    original_message_id: str | None = None,
    command: str | None = None,
    hint: Reason | None = None,
) -> Delivery:
    """A Delivery whose status and reply code default to those written in the diagnostic."""
    diag = squeeze_reply(unfold(diagnostic)) if diagnostic else None
    return Delivery(
        recipient=recipient,
        action=action,
        status=status or find_status(diag or ""),
        reply_code=reply_code or find_reply_code(diag or ""),
        diagnostic=diag or None,
        remote_mta=remote_mta,
        original_message_id=original_message_id,
        format=fmt,
        hint=hint,
        smtp_command=command,
    )


def unique(deliveries: Iterable[Delivery]) -> tuple[Delivery, ...]:
    """Deliveries with one entry per recipient, the first (usually most detailed) kept."""
    seen: set[str | None] = set()
    out: list[Delivery] = []
    for d in deliveries:
        if d.recipient in seen:
            continue
        seen.add(d.recipient)
        out.append(d)
    return tuple(out)


def bracket_blocks(text: str) -> list[tuple[str, list[str]]]:
    """Blocks of the form "<user@host>:" followed by lines up to a blank line.

    qmail, Yahoo and several appliances list failures this way; the text after the colon on
    the address line belongs to the block too.
    """
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        match = _BRACKET_START.match(line)
        if match:
            current = []
            rest = match.group(2).strip()
            if rest:
                current.append(rest)
            blocks.append((match.group(1).lower(), current))
            continue
        if current is None:
            continue
        if not line.strip():
            if current:
                current = None
            continue
        current.append(line.strip())
    return blocks


_BRACKET_START = re.compile(rf"^\s*<({_ADDR})>\s*:(.*)$")
