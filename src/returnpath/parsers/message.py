"""Bytes -> a parsed message with the views every format needs. Defects are collected, never raised.

The stdlib `email` parser (compat32 policy) does the MIME work: it is the fastest of the
parsers measured here and never raises on damaged input. Line endings are normalised to LF
first, so CRLF and CR-only mail parse the same as LF mail.
"""

from __future__ import annotations

import email
import email.header
import email.message
import email.utils
import re
from functools import cached_property

#: Content types of the part that carries the returned original message.
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
#: Content types of a machine-readable delivery-status part.
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")

_WS = re.compile(r"\s+")


def normalise_newlines(raw: bytes) -> bytes:
    """CRLF and lone CR become LF."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def decode_header_value(value: object) -> str:
    """A header value as text: RFC 2047 decoded, unfolded, unknown charsets tolerated."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = str(value)
    if "=?" in text:
        try:
            parts = email.header.decode_header(text)
            text = "".join(
                p.decode(c or "ascii", errors="replace") if isinstance(p, bytes) else p
                for p, c in parts
            )
        except (LookupError, ValueError, AssertionError):
            pass
    return _WS.sub(" ", text).strip()


def part_text(part: email.message.Message) -> str:
    """The decoded text of a non-multipart part; unknown charsets fall back to latin-1 / utf-8."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # compat32 can trip on broken base64 / uuencode
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")


class Message:
    """One returned message and the views that formats read from it."""

    def __init__(self, raw: bytes) -> None:
        self.raw = normalise_newlines(raw or b"")
        self.defects: list[str] = []
        if not self.raw.strip():
            self.defects.append("EmptyMessage")
        self.msg: email.message.Message = email.message_from_bytes(self.raw)
        for part in self.msg.walk():
            for defect in getattr(part, "defects", ()):
                self.defects.append(type(defect).__name__)

    # ----- headers of the returned message itself
    def header(self, name: str) -> str:
        """The decoded, unfolded value of a header of the message, or "" when absent."""
        return decode_header_value(self.msg.get(name))

    def headers(self, name: str) -> list[str]:
        return [decode_header_value(v) for v in self.msg.get_all(name, [])]

    @cached_property
    def subject(self) -> str:
        return self.header("Subject")

    @cached_property
    def from_address(self) -> str:
        """The bare address of From, lower-cased ("" when none)."""
        return email.utils.parseaddr(self.header("From"))[1].lower()

    @cached_property
    def from_header(self) -> str:
        return self.header("From")

    @cached_property
    def content_type(self) -> str:
        return self.msg.get_content_type()

    # ----- the parts
    @cached_property
    def parts(self) -> list[email.message.Message]:
        """All leaf parts of the message, original included, in order."""
        return [p for p in self.msg.walk() if not p.is_multipart()]

    @cached_property
    def status_parts(self) -> list[email.message.Message]:
        return [p for p in self.msg.walk() if p.get_content_type() in STATUS_TYPES]

    @cached_property
    def original_part(self) -> email.message.Message | None:
        """The part holding the returned original (message/rfc822 or text/rfc822-headers)."""
        for p in self.msg.walk():
            if p.get_content_type() in ORIGINAL_TYPES:
                return p
        return None

    @cached_property
    def text(self) -> str:
        """The human-readable notification: the text parts before the returned original.

        For a single-part message this is its whole decoded body (which may include a quoted
        copy of the original: formats cut at their own separators).
        """
        if not self.msg.is_multipart():
            return part_text(self.msg)
        chunks: list[str] = []
        for p in self.msg.walk():
            ctype = p.get_content_type()
            if ctype in ORIGINAL_TYPES:
                break
            if p.is_multipart() or ctype in STATUS_TYPES:
                continue
            if ctype.startswith("text/") and p.get_filename() is None:
                body = part_text(p)
                if ctype == "text/html" and chunks:
                    continue  # the plain alternative is already there
                if ctype == "text/html":
                    body = html_to_text(body)
                chunks.append(body)
        return "\n".join(chunks)


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|p|div|tr|li|h\d)\b[^>]*>", re.I)


def html_to_text(html: str) -> str:
    """A crude but safe HTML -> text for notification bodies."""
    import html as html_lib

    text = _BLOCK.sub("\n", html)
    text = _TAG.sub("", text)
    return html_lib.unescape(text)
