"""Split an mbox file's bytes into messages. Pure: bytes in, list of bytes out."""

from __future__ import annotations

import re

from returnpath.parsers.message import normalise_newlines

# "From sender@example.com  Thu Jul  2 12:05:05 2020": an address, a day name, a time. Real
# mbox writers do not always leave a blank line before it, so the full shape is what counts.
_FROM_LINE = re.compile(
    rb"^From \S*\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b[^\n]*?\d\d?:\d\d[^\n]*\n", re.M
)
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.M)


def is_mbox(data: bytes) -> bool:
    """True when the data starts with an mbox "From " separator line."""
    head = normalise_newlines(data[:512])
    return _FROM_LINE.match(head) is not None


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, separator lines removed and ">From " lines unescaped.

    Data that does not start with a separator line is returned whole, as one message.
    """
    data = normalise_newlines(data)
    if _FROM_LINE.match(data) is None:
        return [data]
    starts = [m.start() for m in _FROM_LINE.finditer(data)]
    messages = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        chunk = chunk[chunk.index(b"\n") + 1 :] if b"\n" in chunk else b""
        messages.append(_ESCAPED_FROM.sub(rb"\1", chunk))
    return messages
