"""The format modules and FORMATS, the one ordered list parse() tries, most authoritative first.

Adding a format: one module in this package (NAME, docstring, extract()) plus one line here.
"""

from __future__ import annotations

from types import ModuleType

from returnpath.parsers.formats import dragonfly, exchange, exim, gmail, postfix, qmail, sendmail
from returnpath.parsers.formats.base import NOT_MINE, Extraction

FORMATS: list[ModuleType] = [
    # --- standards first: they say what they mean in machine-readable fields
    # --- vendor and plain-text bounces, by mail system
    exim,  # also Mail.Ru and other Exim-based relays
    qmail,
    postfix,  # text-only reports; with a delivery-status part dsn reads them first
    sendmail,  # also V5/V8 transcripts without a DSN part
    gmail,  # Google's text bounces from before it sent RFC 3464 reports
    dragonfly,
    exchange,  # Exchange 2003-2019, Office 365, Outlook.com NDRs
    # --- last resorts
]

__all__ = ["FORMATS", "NOT_MINE", "Extraction"]
