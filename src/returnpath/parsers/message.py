"""Bytes -> a parsed message with the views every format needs. Defects are collected, never raised.

The stdlib `email` package's message tree (compat32 policy) holds the MIME structure: it never
raises on damaged input. mime.py builds that very tree at a fraction of the stdlib parser's
cost. Line endings are normalised to LF first, so CRLF and CR-only mail parse the same as LF
mail.

mail-parser is not used on this path: it costs about 0.46 ms a message (compat32 alone
about 0.14 ms, the whole of parse() about 0.5 ms), hides the delivery-status fields, and mixes
the returned original's text into its text bodies. The views below (decoded headers, the
notification text before the returned original, charset and MIME defects) cover what the
formats need.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.header
import email.message
import email.utils
import re
from functools import cached_property, lru_cache

from returnpath.parsers import mime

#: Content types of the part that carries the returned original message.
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
#: Content types of a machine-readable delivery-status part.
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")

_SURROGATE = re.compile("[\udc80-\udcff]")
#: How much notification text formats scan: enough for any real notification, and it keeps
#: the cost of a 50 MB message bounded.
TEXT_LIMIT = 256 * 1024
#: A "Name: value" field line of a header-like block (DSN fields, quoted headers).
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")
_ADDR = re.compile(r"[^\s<>\"'(),;:\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}")
#: Local parts (or display names) of the senders of delivery failure notices.
_DAEMON = re.compile(
    r"^(?:mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|mail[-_ .]?delivery|mdaemon"
    r"|double-bounce|mailer|mail[-_ ]?administrator|microsoftexchange[0-9a-f]*|mail[-_ ]?router"
    r"|internet mail delivery|mail delivery subsystem|mail delivery system|smtp)\b",
    re.I,
)
#: Subjects of delivery failure / delay notices, in the languages mail systems use.
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|returned mail|mail delivery failed|delivery status notification"
    r"|failure notice|delivery failure|delivery has failed|delivery failed|non[- ]?deliver"
    r"|could not be delivered|couldn't be delivered|mail system error|delivery problem"
    r"|warning: could not send|delayed mail|delivery delayed|delivery notification"
    r"|unzustellbar|nicht zustellbar|unzustellbare|non remis|non-remise|no entregado"
    r"|non recapitato|returned to sender|mail not delivered|delivery report"
    r"|message delivery error|notification d'état de remise|unable to deliver",
    re.I,
)
#: Reply and auto-reply prefixes: "Automatic reply: Delivery failed: your parcel" answers our
#: message about a parcel; it is not a delivery failure notice.
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|fw|fwd|sv|vs|antw|r|rif|tr|wg"
    r"|automatic reply|auto[- ]?reply|auto|out of office(?: auto ?reply)?|abwesenheitsnotiz"
    r"|automatische antwort|r[ée]ponse automatique|respuesta autom[áa]tica"
    r"|risposta automatica|resposta autom[áa]tica|automatisch antwoord|自動応答|自動返信)"
    r"\s*[:：]\s*)+",
    re.I,
)
#: Where a plain-text bounce starts quoting the original message's headers.
_QUOTED_MSGID = re.compile(r"^[ \t>]*Message-I[Dd][ \t]*:[ \t]*(<[^>\s]+>|\S+)", re.M)


#: Charsets a message declares (parameters and RFC 2047 words), read from the raw bytes:
#: much cheaper than asking every parsed part.
#: (matched against the lower-cased bytes: a literal start lets the regex engine skip ahead)
_RAW_CONTENT_TYPE = re.compile(rb"\ncontent-type:[^\n]*(?:\n[ \t][^\n]*)*")
_RAW_CHARSET = re.compile(rb"charset[ \t]*=[ \t]*\"?([a-z0-9_.:+-]{1,60})")
_RAW_ENCODED_WORD = re.compile(rb"=\?([A-Za-z0-9_.:+-]{1,60})(?:\*[^?]{0,20})?\?[bqBQ]\?")
_CHARSET_SCAN = 1024 * 1024


@lru_cache(maxsize=256)
def _known_charset(name: str) -> bool:
    try:
        codecs.lookup(name.strip().strip('"'))
    except (LookupError, ValueError):
        return False
    return True


def normalise_newlines(raw: bytes) -> bytes:
    """CRLF and lone CR become LF."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Header bytes in their charset; unknown or missing charsets: UTF-8, then latin-1."""
    if charset and charset.lower() not in ("unknown-8bit", "us-ascii", "ascii"):
        try:
            return data.decode(charset, errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_header_value(value: object) -> str:
    """A header value as text: RFC 2047 decoded, unfolded, unknown charsets tolerated."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        # compat32 wraps raw 8-bit header bytes in a Header ("unknown-8bit")
        chunks = []
        for chunk, charset in email.header.decode_header(value):
            if isinstance(chunk, bytes):
                chunks.append(_decode_bytes(chunk, charset))
            else:
                chunks.append(chunk)
        value = "".join(chunks)
    text = str(value)
    if not text.isascii() and _SURROGATE.search(text):
        # raw 8-bit header bytes, kept by the parser as surrogates: most such mail is UTF-8
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    if "=?" in text:
        try:
            parts = email.header.decode_header(text)
            text = "".join(_decode_bytes(p, c) if isinstance(p, bytes) else p for p, c in parts)
        except (LookupError, ValueError, AssertionError, email.errors.HeaderParseError):
            pass  # a broken encoded word ("=?utf-8?b?QUJDx?=") stays as written
    # whitespace runs collapsed: str.split() knows the same whitespace as the regex \s
    return " ".join(text.split())


def content_charset(part: email.message.Message) -> str | None:
    """part.get_content_charset(): the same answer, remembered per Content-Type value (the
    parameter parsing behind it is slow, and the same few values recur in every mailbox)."""
    value = part.get("Content-Type")
    if isinstance(value, str):
        return _charset_of(value)
    return part.get_content_charset()  # absent, or 8-bit (the policy made it a Header)


@lru_cache(maxsize=512)
def _charset_of(content_type: str) -> str | None:
    holder = email.message.Message()
    holder["Content-Type"] = content_type
    return holder.get_content_charset()


def part_text(part: email.message.Message) -> str:
    """The decoded text of a non-multipart part, line endings LF like the rest of the message
    (a base64 or quoted-printable body keeps the CRLF its sender encoded); unknown charsets
    fall back to latin-1 / utf-8."""
    text = _part_text(part)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _part_text(part: email.message.Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # compat32 can trip on broken base64 / uuencode
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    charset = content_charset(part) or "utf-8"
    try:
        return payload.decode(charset)
    except UnicodeDecodeError:
        # mislabelled text, typically UTF-8 under a 7-bit label (iso-2022-jp, us-ascii)
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
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
        self._decoded: dict[str, str] = {}
        if not self.raw.strip():
            self.defects.append("EmptyMessage")
        #: The message tree, and every part (the message itself and nested ones) with its
        #: content type, in walk order.
        self.msg, self.walk = mime.parse_bytes(self.raw)
        # the parser reads an encoded delivery-status part as header blocks of base64 text:
        # its complaints about those blocks are not damage (status_text decodes the part)
        encoded_blocks = {
            id(block)
            for part, ctype in self.walk
            if ctype in STATUS_TYPES and _encoded(part)
            for block in _payload_list(part)
        }
        for part, _ in self.walk:
            if id(part) in encoded_blocks:
                continue
            for defect in getattr(part, "defects", ()):
                self.defects.append(type(defect).__name__)
        head = self.raw[:_CHARSET_SCAN]
        # only Content-Type header fields: bodies mention charsets too (HTML meta tags)
        names = {
            m.decode("ascii", "replace")
            for field in _RAW_CONTENT_TYPE.findall(b"\n" + head.lower())
            for m in _RAW_CHARSET.findall(field)
        }
        names.update(m.decode("ascii", "replace") for m in _RAW_ENCODED_WORD.findall(head))
        for name in sorted(names):
            if not _known_charset(name):
                self.defects.append(f"UnknownCharset: {name[:40]}")

    # ----- headers of the returned message itself
    @cached_property
    def _header_index(self) -> dict[str, list[object]]:
        # email.message.Message.get() scans every header on each call; formats ask for many
        index: dict[str, list[object]] = {}
        # the parser's own (name, value) list: items() would re-sanitise every value, and
        # decode_header_value copes with the raw 8-bit values it holds
        pairs = getattr(self.msg, "_headers", None)
        for name, value in pairs if isinstance(pairs, list) else self.msg.items():
            index.setdefault(name.lower(), []).append(value)
        return index

    def raw_header(self, name: str) -> object | None:
        """The first value of a header as the parser holds it (str or Header), or None."""
        values = self._header_index.get(name.lower())
        return values[0] if values else None

    def raw_headers(self, name: str) -> list[object]:
        return self._header_index.get(name.lower(), [])

    def header(self, name: str) -> str:
        """The decoded, unfolded value of a header of the message, or "" when absent."""
        key = name.lower()
        cache = self._decoded
        if key not in cache:
            cache[key] = decode_header_value(self.raw_header(key))
        return cache[key]

    def headers(self, name: str) -> list[str]:
        return [decode_header_value(v) for v in self.raw_headers(name)]

    @cached_property
    def subject(self) -> str:
        return self.header("Subject")

    @cached_property
    def from_address(self) -> str:
        """The bare address of From, lower-cased ("" when none)."""
        return split_address(self.from_header)[1].lower()

    @cached_property
    def from_header(self) -> str:
        return self.header("From")

    @cached_property
    def content_type(self) -> str:
        return self.walk[0][1]

    # ----- the parts
    @cached_property
    def parts(self) -> list[email.message.Message]:
        """All leaf parts of the message, original included, in order."""
        return [p for p, _ in self.walk if not p.is_multipart()]

    @cached_property
    def status_parts(self) -> list[email.message.Message]:
        return [p for p, ctype in self.walk if ctype in STATUS_TYPES]

    @cached_property
    def original_part(self) -> email.message.Message | None:
        """The part holding the returned original (message/rfc822 or text/rfc822-headers)."""
        for p, ctype in self.walk:
            if ctype in ORIGINAL_TYPES:
                return p
        return None

    @cached_property
    def size(self) -> int:
        return len(self.raw)

    @cached_property
    def from_daemon(self) -> bool:
        """From is a mailer daemon, postmaster or similar system sender."""
        local = self.from_address.partition("@")[0]
        name = split_address(self.from_header)[0]
        return bool(_DAEMON.match(local) or (name and _DAEMON.match(name.strip("\"' "))))

    @cached_property
    def looks_like_bounce(self) -> bool:
        """Whether the message presents itself as a delivery failure/delay notice.

        Any one signal suffices: a report content type, a mailer-daemon sender, a failure
        subject, or an X-Failed-Recipients header.
        """
        return bool(
            self.content_type == "multipart/report"
            or self.status_parts
            or self.from_daemon
            or self.raw_header("X-Failed-Recipients") is not None
            or (not _REPLY_PREFIX.match(self.subject) and BOUNCE_SUBJECT.search(self.subject))
        )

    @cached_property
    def status_text(self) -> str:
        """The raw text of the delivery-status part(s), "" when there is none."""
        chunks: list[str] = []
        for part, ctype in self.walk:
            if ctype not in STATUS_TYPES:
                continue
            if _encoded(part):
                # read like any other status part once decoded: the same blocks, unfolded
                # fields and RFC 2047 words as when the MTA had sent it unencoded
                head = f"Content-Type: {ctype}\n\n"
                part = mime.message_from_string(head + _decoded_status(part))
            payload = part.get_payload()
            if isinstance(payload, list):
                # compat32 parses each DSN block as a headers-only message
                for block in payload:
                    if isinstance(block, email.message.Message):
                        chunks.append(
                            "\n".join(f"{k}: {decode_header_value(v)}" for k, v in block.items())
                        )
                        rest = block_rest(block)
                        if rest.strip():
                            chunks.append(rest)
            else:
                chunks.append(part_text(part))
        return "\n\n".join(chunks)

    @cached_property
    def original_headers(self) -> email.message.Message | None:
        """The headers of the returned original, from its part, or None when not returned."""
        part = self.original_part
        if part is None:
            return None
        payload = part.get_payload()
        if isinstance(payload, list):
            for inner in payload:
                if isinstance(inner, email.message.Message):
                    return inner
            return None
        text = part_text(part).lstrip()
        if not text:
            return None
        return mime.message_from_string(text)

    @cached_property
    def original_message_id(self) -> str | None:
        """The Message-ID of the returned original: from its part, else from quoted headers."""
        headers = self.original_headers
        if headers is not None:
            value = decode_header_value(headers.get("Message-ID"))
            if value:
                return value
        body = self.text if self.original_part is None else ""
        m = _QUOTED_MSGID.search(body[:TEXT_LIMIT])
        if m and ("@" in m.group(1) or m.group(1).startswith("<")):
            return m.group(1)
        return None

    @cached_property
    def text(self) -> str:
        """The human-readable notification: the text parts before the returned original.

        For a single-part message this is its whole decoded body (which may include a quoted
        copy of the original: formats cut at their own separators).
        """
        if not self.msg.is_multipart():
            body = part_text(self.msg)
            if self.msg.get_content_type() == "text/html":
                # webmail providers (QQ, NetEase, Naver) send their notices as HTML alone
                body = html_to_text(body[: 4 * TEXT_LIMIT])
            return body[:TEXT_LIMIT]
        chunks: list[str] = []
        size = 0
        # the blocks of a status part are DSN fields, not notification text (the parser
        # makes a text/plain message of each, or of a global report's whole body)
        fields = {id(b) for p in self.status_parts for b in _payload_list(p)}
        for p, ctype in self.walk:
            if ctype in ORIGINAL_TYPES:
                break
            if p.is_multipart() or ctype in STATUS_TYPES or id(p) in fields:
                continue
            if ctype.startswith("text/") and not _is_attachment(p):
                if ctype == "text/html" and chunks:
                    continue  # the plain alternative is already there
                body = part_text(p)
                if ctype == "text/html":
                    body = html_to_text(body[: 4 * TEXT_LIMIT])
                chunks.append(body)
                size += len(body)
                if size > TEXT_LIMIT:
                    break
        return "\n".join(chunks)[:TEXT_LIMIT]


def split_address(value: str) -> tuple[str, str]:
    """(display name, address) of a From-like header value; much faster than
    email.utils.parseaddr and forgiving of the malformed values bounces carry."""
    value = value.strip()
    if "<" in value:
        start = value.rfind("<")
        end = value.find(">", start)
        address = value[start + 1 : end if end > start else len(value)].strip()
        name = value[:start].strip().strip("\"'").strip()
        return name, address
    if "(" in value:
        # old style: address (Display Name)
        address, _, rest = value.partition("(")
        return rest.rstrip(")").strip(), address.strip()
    return "", value


#: Transfer encodings a delivery-status part is read through (MTAs send both on it).
_STATUS_ENCODINGS = ("base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue")


def _transfer_encoding(part: email.message.Message) -> str:
    return str(part.get("Content-Transfer-Encoding", "")).strip().lower()


def _encoded(part: email.message.Message) -> bool:
    """Whether a part declares a body encoding (some MTAs encode their delivery-status part;
    read as it stands, quoted-printable's "=3D" and soft line breaks garble the fields)."""
    return _transfer_encoding(part) in _STATUS_ENCODINGS


def _payload_list(part: email.message.Message) -> list[email.message.Message]:
    payload = part.get_payload()
    return (
        [b for b in payload if isinstance(b, email.message.Message)]
        if isinstance(payload, list)
        else []
    )


def _decoded_status(part: email.message.Message) -> str:
    """The text of an encoded delivery-status part, which the parser split into header
    blocks before anyone could decode it."""
    encoding = _transfer_encoding(part)
    if encoding != "base64":
        # the body as written when the parser kept it, else rebuilt from the blocks
        written = getattr(part, mime.BODY_SOURCE, None)
        body = written if isinstance(written, str) else _status_source(part)
        source = body.encode("ascii", "surrogateescape")
        if encoding == "quoted-printable":
            return _decode_bytes(binascii.a2b_qp(source), content_charset(part))
        # uuencode: the stdlib decodes it for a part that holds the body as text
        holder = email.message.Message()
        holder["Content-Transfer-Encoding"] = encoding
        holder.set_payload(body)
        try:
            data = holder.get_payload(decode=True)
        except Exception:  # compat32 can trip on a broken uuencoded body
            return ""
        return _decode_bytes(data, content_charset(part)) if isinstance(data, bytes) else ""
    # base64 has no ':', so every line is left in the blocks' bodies
    pieces: list[str] = []
    payload = part.get_payload()
    if isinstance(payload, str):
        pieces.append(payload)
    for block in _payload_list(part):
        pieces.append(block_rest(block))
    data = "".join("".join(pieces).split())
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=False)
    except (ValueError, TypeError):
        return ""
    return _decode_bytes(raw, content_charset(part))


def _status_source(part: email.message.Message) -> str:
    """The body of a delivery-status part, rebuilt from its header blocks (the parser keeps
    each field's value as written, continuation lines included, and whatever followed a line
    that is not a field as the block's body; a line that starts with ':' is lost)."""
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload
    blocks: list[str] = []
    for block in _payload_list(part):
        fields = getattr(block, "_headers", None)
        pairs = fields if isinstance(fields, list) else block.items()
        # the blanks after a colon are not kept: one space, as MTAs write fields, except
        # after a line that starts with the colon (the tail of a line broken just before it)
        head = "".join(f"{name}:{' ' if name else ''}{value}\n" for name, value in pairs)
        rest = block.get_payload()
        blocks.append(head + (rest if isinstance(rest, str) else ""))
    return "\n".join(blocks)


def block_rest(block: email.message.Message) -> str:
    """What the parser left in the body of a header block (later blocks of a report it did
    not split), with raw UTF-8 kept (RFC 6533 reports carry UTF-8 addresses)."""
    if block.is_multipart() or block.get_payload() == "":
        return ""  # the usual block: fields alone (decoding nothing gives nothing)
    try:
        data = block.get_payload(decode=True)
    except Exception:  # compat32 can trip on a bogus Content-Transfer-Encoding
        data = None
    if isinstance(data, bytes):
        return _decode_bytes(data, None)
    rest = block.get_payload()
    return rest if isinstance(rest, str) else ""


def _is_attachment(part: email.message.Message) -> bool:
    """A part that names a file (what get_filename() tells, without its slow parameter parsing)."""
    disposition = str(part.get("Content-Disposition", "")).lower()
    return "filename" in disposition or "name=" in str(part.get("Content-Type", "")).lower()


def parse_fields(text: str) -> list[list[tuple[str, str]]]:
    """Header-like text split into blocks of (lower-cased name, unfolded value) fields.

    Blocks are separated by blank lines; continuation lines (leading white space) are folded
    into the previous field; lines that are not fields are skipped. Used for DSN
    per-message/per-recipient blocks and feedback reports, which are often slightly broken.
    """
    blocks: list[list[tuple[str, str]]] = []
    # fields as (name, [value pieces]): joining once keeps long folded values linear
    current: list[tuple[str, list[str]]] = []

    def close() -> None:
        blocks.append([(name, " ".join(p for p in pieces if p)) for name, pieces in current])
        current.clear()

    for line in text[:TEXT_LIMIT].split("\n"):
        if not line.strip():
            if current:
                close()
            continue
        if line[0] in " \t" and current:
            current[-1][1].append(line.strip())
            continue
        m = _FIELD.match(line)
        if m:
            current.append((m.group(1).lower(), [m.group(2).strip()]))
    if current:
        close()
    return blocks


def find_addresses(text: str) -> list[str]:
    """Every e-mail address in a piece of text, in order of appearance, duplicates kept."""
    return [a.strip(".") for a in _ADDR.findall(text)]


def clean_address(value: str | None) -> str | None:
    """An address as given in a DSN field or text, normalised: "rfc822;" prefix, <>, quotes
    and spaces stripped, the domain lower-cased; None when nothing address-like remains."""
    if not value:
        return None
    text = value.strip()
    if ";" in text:
        kind, _, rest = text.partition(";")
        if "@" not in kind:
            text = rest.strip()
    text = text.strip().strip("<>").strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1 : text.rindex(">")]
    text = text.strip().strip("'\"").strip()
    lowered = text[:7].lower()
    if lowered.startswith("mailto:"):
        text = text[7:]
    elif lowered.startswith(("rfc822:", "smtp:")):
        text = text.partition(":")[2].strip()  # "RFC822:user@host", a ':' for the ';'

    if "@" not in text or " " in text:
        found = find_addresses(text)
        if not found:
            return None
        text = found[0]
    local, _, domain = text.rpartition("@")
    local = local.strip().strip("'\"")
    domain = domain.strip().strip(".>").lower()
    if not local or not domain:
        return None
    return f"{local}@{domain}"


_PARAGRAPH = re.compile(r"\n[ \t]*\n")


@lru_cache(maxsize=4)
def _lowered(text: str) -> str:
    # a DSN for many recipients asks about each one in the same text
    return text.lower()


#: A header line quoted in a notification (the returned original's, or DSN fields).
_HEADER_LINE = re.compile(
    r"[ \t>]*(?:to|cc|bcc|from|sender|reply-to|delivered-to|return-path|envelope-to|x-[\w-]+"
    r"|original-recipient|final-recipient)[ \t]*:",
    re.I,
)


def paragraph_about(text: str, recipient: str, limit: int = 1000) -> str | None:
    """The paragraph of the notification that names the recipient (and the next one when it
    is no more than the address), whitespace collapsed; None when the text never names it."""
    lowered, needle = _lowered(text), recipient.lower()
    at = lowered.find(needle)
    if at < 0:
        return None
    # skip mentions in quoted header lines ("To: <user@example.com>"): they say nothing
    first, tries = at, 0
    while at >= 0 and tries < 20 and _HEADER_LINE.match(text, text.rfind("\n", 0, at) + 1):
        at, tries = lowered.find(needle, at + len(needle)), tries + 1
    if at < 0:
        at = first
    start = text.rfind("\n\n", 0, at)
    start = 0 if start < 0 else start
    end_match = _PARAGRAPH.search(text, at)
    end = end_match.start() if end_match else len(text)
    chunk = text[start:end]
    if len(" ".join(chunk.split())) <= len(recipient) + 4 and end_match:
        following = _PARAGRAPH.search(text, end_match.end())
        chunk = text[start : following.start() if following else len(text)]
    return " ".join(chunk.split())[:limit] or None


_TAG = re.compile(r"<[^<>]{1,2000}>")  # bounded: a stray "<" must not scan to the end
# The line break written after a tag in the source goes with it: "<br>\n" is one break.
_BLOCK = re.compile(r"<\s*(br|p|div|tr|li|h\d)\b[^<>]{0,2000}>[ \t]*\r?\n?", re.I)


_CELL_END = re.compile(r"<\s*/\s*t[dh]\s*>", re.I)


def html_to_text(html: str) -> str:
    """A crude but safe HTML -> text for notification bodies."""
    import html as html_lib

    text = _BLOCK.sub("\n", html)
    text = _CELL_END.sub("\t", text)  # table cells ("Recipient" | address) stay apart
    text = _TAG.sub("", text)
    return html_lib.unescape(text)
