"""Bytes in, ParseResult out. Pure: no I/O, no database, no clock."""

from returnpath.parsers.parse import ParseOptions, parse

__all__ = ["ParseOptions", "parse"]
