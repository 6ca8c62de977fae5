"""parse_bytes(): the stdlib feed parser's message tree (compat32 policy), built faster.

`email.message_from_bytes` reads every line of every part through a generator chain in
Python and compiles a regular expression for each multipart boundary; it was the largest
single cost of parse(). This module builds the very same tree (same header lists, payload
strings, preambles, epilogues, default types and defects) from text whose lines end in LF
alone, which is what Message hands it after normalising line endings: header blocks are read
line by line as the stdlib reads them, but a body, preamble or epilogue is cut out in one
piece at the next line that ends it (a boundary of an enclosing multipart, or a blank line
between delivery-status blocks), found with str.find.

It follows the stdlib's `email.feedparser._parsegen` step for step, and like it fills the
compat32 Message objects' header list and payload directly. Where the stdlib takes a
rare path whose exact replay would cost more code than it is worth (a line pushed back out
of order, a carriage return, deep nesting), `_Unusual` is raised and the caller hands the
message to the stdlib parser instead: the result is the stdlib's either way.
tests/test_parse_mime.py compares the two trees over the corpus, the fixtures and damaged
variants of them.
"""

from __future__ import annotations

import email
import email.errors
import email.message
import email.utils
import re
from collections.abc import Iterator
from email._policybase import compat32

#: A header block: field, continuation and "From " lines (email.feedparser.headerRE), from a
#: position on.
_HEADER_BLOCK = re.compile(r"(?:(?:From |[\041-\071\073-\176]*:|[\t ])[^\n]*\n?)*")
#: One field of a header block and its continuation lines: (name, value as stored, that is
#: without the leading blanks and the final newline; the block's lines end in one LF each).
_FIELD = re.compile(r"([^:\n]*):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n?")
#: A Content-Type value whose parameters split on every ";": no backslash, "*", "<" or ">",
#: and any quotes enclose a whole parameter value (no ";" or quote inside them).
_PLAIN_PARAMS = re.compile(
    r'[^\\*<>";]*(?:;[^\\*<>";=]*(?:=[ \t]*(?:"[^\\*<>";]*"[ \t]*|[^\\*<>";]*))?)*\Z'
)
#: The attribute that holds a delivery-status part's body as written (the tree keeps only
#: the header blocks parsed from it, which an encoded body does not survive: quoted-printable
#: soft line breaks cut fields anywhere, even in front of a ':').
BODY_SOURCE = "body_source"
#: Deeper nesting than this goes to the stdlib parser (it has its own recursion limit).
_MAX_DEPTH = 40
#: The "end of part" predicate of delivery-status blocks: a blank line.
_BLANK = ""


class _Unusual(Exception):
    """The message takes a path this parser leaves to the stdlib."""


#: Each part of a message with its content type, in walk order.
Parts = list[tuple[email.message.Message, str]]


def message_from_bytes(raw: bytes) -> email.message.Message:
    """What `email.message_from_bytes(raw)` returns (compat32 policy)."""
    return parse_bytes(raw)[0]


def parse_bytes(raw: bytes) -> tuple[email.message.Message, Parts]:
    """The tree `email.message_from_bytes(raw)` returns, and its parts with their content
    types in walk order (known while parsing: asking each part again costs a header scan)."""
    text = raw.decode("ascii", "surrogateescape")
    if "\r" not in text:
        parser = _Parser(text)
        try:
            return parser.parse(), parser.parts
        except Exception:  # _Unusual, deep recursion, or a case this parser gets wrong:
            pass  # the stdlib parses it, so no message is ever lost to this shortcut
    root = email.message_from_string(text)
    return root, [(part, part.get_content_type()) for part in root.walk()]


def message_from_string(text: str) -> email.message.Message:
    """What `email.message_from_string(text)` returns (compat32 policy)."""
    if "\r" not in text:
        try:
            return _Parser(text).parse()
        except Exception:  # as in parse_bytes: the stdlib has the last word
            pass
    return email.message_from_string(text)


def _line_starts(text: str, prefix: str, start: int) -> Iterator[int]:
    """The starts of the lines at or after `start` (a line start) that begin with `prefix`."""
    if text.startswith(prefix, start):
        yield start
    at = text.find("\n" + prefix, start)
    while at >= 0:
        yield at + 1
        at = text.find("\n" + prefix, at + 1)


def _content_type(msg: email.message.Message) -> str:
    """msg.get_content_type(), without its header lookup through the policy for ASCII values."""
    for name, value in msg._headers:  # type: ignore[attr-defined]
        if name.lower() == "content-type":
            if not value.isascii():
                break  # the policy turns 8-bit values into Header objects: let it
            ctype = value.partition(";")[0].strip().lower()
            return ctype if ctype.count("/") == 1 else "text/plain"
    else:
        return msg.get_default_type()
    return msg.get_content_type()


def _boundary(msg: email.message.Message) -> str | None:
    """msg.get_boundary(), by the stdlib's own steps (email.message._parseparam,
    _get_params_preserve, utils.decode_params, get_param, get_boundary) for the plain values
    nearly all mail has: no RFC 2231 parameters, backslashes or angle brackets, and quotes
    only around whole values, so that the parameters split on every ";". The stdlib's path
    (two header scans and a general parameter decoder) cost more than the rest of a part."""
    headers = msg._headers  # type: ignore[attr-defined]
    value = next((v for k, v in headers if k.lower() == "content-type"), None)
    if not isinstance(value, str) or not value.isascii() or not _PLAIN_PARAMS.match(value):
        return msg.get_boundary()
    for number, piece in enumerate(value.split(";")):
        if "=" in piece:
            name, _, raw = piece.partition("=")
            name, raw = name.strip().lower(), raw.strip()
        else:
            name, raw = piece.strip(), ""
        if name.lower() == "boundary":
            # decode_params passes the first parameter through and re-quotes the others
            quoted = raw if number == 0 else f'"{email.utils.quote(email.utils.unquote(raw))}"'
            found = email.utils.unquote(quoted)  # get_param
            return email.utils.collapse_rfc2231_value(found).rstrip()
    return None


def _boundary_line(line: str, separator: str) -> tuple[bool, bool] | None:
    """(is the close boundary, ends in a newline) when `line` is a boundary line of
    `separator` ("--" + boundary), else None; the stdlib's boundary regex, for LF lines."""
    if not line.startswith(separator):
        return None
    rest = line[len(separator) :]
    close = rest.startswith("--")
    if close:
        rest = rest[2:]
    if rest.lstrip(" \t") not in ("", "\n"):
        return None
    return close, rest.endswith("\n")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        #: The stack of "end of part" predicates: boundary separators, or _BLANK.
        self.ends: list[str] = []
        #: (searched from, where the current part ends) for the current `ends`
        self._known_end = (-1, -1)
        #: per predicate: (searched from, first matching line start found or len(text))
        self._found: dict[str, tuple[int, int]] = {}
        #: The part made last, or the multipart whose part ended last (the stdlib's _last).
        self.last: email.message.Message | None = None
        self.last_multipart = False
        #: every part made, with its content type: creation order is walk order
        self.parts: Parts = []

    def parse(self) -> email.message.Message:
        root = self._message(None, 0)
        if root.get_content_maintype() == "multipart" and not root.is_multipart():
            compat32.handle_defect(root, email.errors.MultipartInvariantViolationDefect())
        return root

    # ----- reading lines
    def _first_line(self, predicate: str, start: int) -> int:
        """Where the first line at or after `start` that `predicate` ends on begins
        (len(text) when there is none); `start` is the start of a line."""
        searched, found = self._found.get(predicate, (-1, -1))
        if searched <= start <= found:
            return found  # nothing matched between `searched` and `found`
        found = len(self.text)
        for at in _line_starts(self.text, "\n" if predicate == _BLANK else predicate, start):
            if predicate == _BLANK or _boundary_line(self._line_at(at), predicate):
                found = at
                break
        self._found[predicate] = (start, found)
        return found

    def _line_at(self, at: int) -> str:
        stop = self.text.find("\n", at)
        return self.text[at:] if stop < 0 else self.text[at : stop + 1]

    def _end(self) -> int:
        """Where the current part ends: the first line that an enclosing part ends on."""
        searched, end = self._known_end
        if searched <= self.pos <= end:
            return end  # asked again before reaching it: the common case, kept cheap
        end = len(self.text)
        for predicate in self.ends:
            end = min(end, self._first_line(predicate, self.pos))
        self._known_end = (self.pos, end)
        return end

    def _push_end(self, predicate: str) -> None:
        self.ends.append(predicate)
        self._known_end = (-1, -1)

    def _pop_end(self) -> None:
        self.ends.pop()
        self._known_end = (-1, -1)

    def _readline(self) -> str:
        """The next line, or "" at the end of the current part (email.feedparser's readline)."""
        pos, end = self.pos, self._end()
        if pos >= end:
            return ""
        stop = self.text.find("\n", pos, end)
        self.pos = end if stop < 0 else stop + 1
        return self.text[pos : self.pos]

    def _unreadline(self, line: str) -> None:
        # the stdlib pushes the line back in front of what is left; when it is the text just
        # read, stepping back is the same thing
        if not line or not self.text.endswith(line, 0, self.pos):
            raise _Unusual("a line pushed back out of order")
        self.pos -= len(line)

    def _rest(self) -> str:
        """Every line up to the end of the current part, in one piece."""
        pos, end = self.pos, self._end()
        self.pos = max(pos, end)
        return self.text[pos:end]

    # ----- the tree
    def _message(
        self, parent: email.message.Message | None, depth: int, parent_type: str = ""
    ) -> email.message.Message:
        """One message or part, from its headers to its end (email.feedparser._parsegen)."""
        if depth > _MAX_DEPTH:
            raise _Unusual("nesting too deep")
        msg = email.message.Message()
        if parent is not None:
            if parent_type == "multipart/digest":
                msg.set_default_type("message/rfc822")
            parent.attach(msg)
        self.last = msg

        # the header block ends at the first line that is neither a field, a continuation nor
        # a "From " line: a blank line is dropped, any other line starts the body
        text, end = self.text, self._end()
        block = _HEADER_BLOCK.match(text, self.pos, end).group()  # type: ignore[union-attr]
        self.pos += len(block)
        if self.pos < end:
            if text.startswith("\n", self.pos):
                self.pos += 1
            else:
                compat32.handle_defect(msg, email.errors.MissingHeaderBodySeparatorDefect())
        self._headers(msg, block)

        ctype = _content_type(msg)
        self.parts.append((msg, ctype))
        maintype = ctype.split("/")[0]
        self.last_multipart = maintype == "multipart"
        if ctype == "message/delivery-status":
            # blocks of fields separated by blank lines, each a headers-only message
            start = self.pos
            while True:
                self._push_end(_BLANK)
                self._message(msg, depth + 1, ctype)
                self._pop_end()
                self._readline()  # the blank line
                line = self._readline()
                if not line:
                    break
                self._unreadline(line)
            setattr(msg, BODY_SOURCE, text[start : self.pos])
        elif maintype == "message":
            start = self.pos
            self._message(msg, depth + 1, ctype)
            if ctype == "message/global-delivery-status":
                setattr(msg, BODY_SOURCE, text[start : self.pos])
        elif maintype == "multipart":
            self._multipart(msg, ctype, depth)
        else:
            msg.set_payload(self._rest())
        return msg

    def _multipart(self, msg: email.message.Message, ctype: str, depth: int) -> None:
        boundary = _boundary(msg)
        if boundary is None:
            compat32.handle_defect(msg, email.errors.NoBoundaryInMultipartDefect())
            msg.set_payload(self._rest())
            return
        encoding = str(msg.get("content-transfer-encoding", "8bit")).lower()
        if encoding not in ("7bit", "8bit", "binary"):
            compat32.handle_defect(
                msg, email.errors.InvalidMultipartContentTransferEncodingDefect()
            )
        separator = "--" + boundary

        # the preamble: up to the first boundary line, or the end of the part
        first = self._first_line(separator, self.pos)
        found = _boundary_line(self._line_at(first), separator) if first < self._end() else None
        if found is None or found[0]:
            # no start boundary (a close boundary first is no start either): everything up to
            # it is the payload, and the rest of the part is dropped
            compat32.handle_defect(msg, email.errors.StartBoundaryNotFoundDefect())
            msg.set_payload(self.text[self.pos : first] if found else self._rest())
            self._rest()
            msg.epilogue = ""
            return
        if first > self.pos:
            # the newline before a boundary belongs to the boundary (RFC 2046)
            preamble = self.text[self.pos : first]
            msg.preamble = preamble[:-1] if preamble.endswith("\n") else preamble
        self.pos = first

        close_seen = False
        while True:
            line = self._readline()
            if not line:
                break
            found = _boundary_line(line, separator)
            if found is None:
                raise _Unusual("a part ended on a line that is not its boundary")
            if found[0]:
                close_seen = True
                break
            # repeated boundary lines (even a close one) hold no part between them
            while True:
                line = self._readline()
                if not line:
                    raise _Unusual("a boundary line at the end of its part")
                if _boundary_line(line, separator) is None:
                    self._unreadline(line)
                    break
            self._push_end(separator)
            self._message(msg, depth + 1, ctype)
            self._strip_last_newline()
            self._pop_end()
            self.last, self.last_multipart = msg, True

        if not close_seen:
            compat32.handle_defect(msg, email.errors.CloseBoundaryNotFoundDefect())
            return
        # the epilogue: the rest of the part (the close boundary's newline is not in it)
        msg.epilogue = self._rest()

    def _strip_last_newline(self) -> None:
        """The newline before a boundary belongs to the boundary, not to the part (or the
        epilogue of the nested multipart) that ends there."""
        last = self.last
        assert last is not None
        if self.last_multipart:
            if last.epilogue == "":
                last.epilogue = None
            elif last.epilogue is not None and last.epilogue.endswith("\n"):
                last.epilogue = last.epilogue[:-1]
        else:
            payload = last._payload  # type: ignore[attr-defined]
            if isinstance(payload, str) and payload.endswith("\n"):
                last.set_payload(payload[:-1])

    def _headers(self, msg: email.message.Message, block: str) -> None:
        """The header lines as (name, value) pairs (email.feedparser._parse_headers)."""
        if not block:
            return
        lined = "\n" + block
        if block[0] not in " \t" and "\nFrom " not in lined and "\n:" not in lined:
            # the common case, in one pass: each field with its continuation lines (the value
            # as compat32's header_source_parse gives it)
            msg._headers = _FIELD.findall(block)  # type: ignore[attr-defined]
            return
        lines = [line + "\n" for line in block.split("\n")]
        lines[-1] = lines[-1][:-1]
        if not lines[-1]:
            lines.pop()
        name = ""
        value: list[str] = []
        for number, line in enumerate(lines):
            if line[0] in " \t":
                if not name:
                    defect = email.errors.FirstHeaderLineIsContinuationDefect(line)
                    compat32.handle_defect(msg, defect)
                    continue
                value.append(line)
                continue
            if name:
                msg.set_raw(*compat32.header_source_parse(value))
                name, value = "", []
            if line.startswith("From "):
                if number == 0:
                    msg.set_unixfrom(line[:-1] if line.endswith("\n") else line)
                    continue
                if number == len(lines) - 1:
                    # a "From " line closing the headers starts the body
                    self._unreadline(line)
                    return
                msg.defects.append(email.errors.MisplacedEnvelopeHeaderDefect(line))
                continue
            colon = line.find(":")
            if colon == 0:
                msg.defects.append(email.errors.InvalidHeaderDefect("Missing header name."))
                continue
            name, value = line[:colon], [line]
        if name:
            msg.set_raw(*compat32.header_source_parse(value))
