"""What a format module provides, and the named "not mine" value.

A format module has a docstring saying how to recognise its format, a `NAME`, and
`extract(msg: Message) -> Extraction`, returning `NOT_MINE` when the message is not in
its format. Formats only pull facts out of the mail (recipients, action, status codes,
diagnostic text); `classify` alone decides category and reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from returnpath.model import Delivery, MessageKind
from returnpath.parsers.message import Message


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one format found in a message."""

    kind: MessageKind
    deliveries: tuple[Delivery, ...] = ()

    def __bool__(self) -> bool:
        return self.kind is not MessageKind.UNKNOWN


#: Returned by a format for a message that is not in its format.
NOT_MINE = Extraction(kind=MessageKind.UNKNOWN)

Extractor = Callable[[Message], Extraction]
