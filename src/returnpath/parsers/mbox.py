"""The mbox format: separator lines, ">From " unescaping, and splitting bytes into messages.

Pure: bytes in, bytes out. The file walker in returnpath.poller.files streams big mbox files
line by line with `is_separator` and `unescape`; `split_mbox` serves data already in memory.
"""

from __future__ import annotations

import re

from returnpath.parsers.message import normalise_newlines

# "From sender@example.com  Thu Jul  2 12:05:05 2020": an address, a day name and a time, so
# a body line that merely starts with "From " is not taken for a separator. Real mbox writers
# do not always leave a blank line before it, so the full shape is what counts.
_FROM_LINE = re.compile(rb"^From \S*\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b[^\n]*?\d\d?:\d\d[^\n]*$")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")


def is_separator(line: bytes) -> bool:
    """True for an mbox separator line (its line ending, if any, is ignored)."""
    return line.startswith(b"From ") and _FROM_LINE.match(line.rstrip(b"\r\n")) is not None


def unescape(line: bytes) -> bytes:
    """A message line as written before the mbox writer quoted it (">From " -> "From ")."""
    return _ESCAPED_FROM.sub(rb"\1", line) if line.startswith(b">") else line


def is_mbox(data: bytes) -> bool:
    """True when the data starts with an mbox separator line."""
    head = normalise_newlines(data[:1024])
    return is_separator(head.split(b"\n", 1)[0])


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, separator lines removed and ">From " lines unescaped.

    Data that does not start with a separator line is returned whole, as one message.
    """
    data = normalise_newlines(data)
    if not is_mbox(data):
        return [data]
    messages: list[bytes] = []
    lines: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if is_separator(line):
            if messages or lines:
                messages.append(b"".join(lines))
            lines = []
            continue
        lines.append(unescape(line))
    messages.append(b"".join(lines))
    return messages
