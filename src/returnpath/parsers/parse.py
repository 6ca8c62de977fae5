"""parse(): one returned message in, per-recipient verdicts out. Never raises."""

from __future__ import annotations

from dataclasses import dataclass

from returnpath.model import MessageKind, ParseResult


@dataclass(frozen=True)
class ParseOptions:
    """What parse() needs beyond the bytes; all optional."""

    verp_secret: bytes | None = None  # key that signs VERP tokens; None: tokens are not checked
    correlation_headers: tuple[str, ...] = ("X-Campaign-ID", "X-Contact-ID")


def parse(raw: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Placeholder until the formats land: recognises nothing."""
    return ParseResult(kind=MessageKind.UNKNOWN)
