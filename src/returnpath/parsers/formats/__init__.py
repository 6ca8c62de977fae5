"""The format modules and FORMATS, the one ordered list parse() tries, most authoritative first.

Adding a format: one module in this package (NAME, docstring, extract()) plus one line here.
"""

from __future__ import annotations

from types import ModuleType

from returnpath.parsers.formats import (
    amavis,
    amazonses,
    apachejames,
    arf,
    autoreply,
    domino,
    dragonfly,
    dsn,
    exchange,
    exim,
    fallback,
    fml,
    gmail,
    gmx,
    googlegroups,
    kddi,
    mdaemon,
    messagingserver,
    mfilter,
    mimecast,
    notes,
    opensmtpd,
    postfix,
    qmail,
    sendmail,
    surfcontrol,
    textbounce,
    trendmicro,
    yahoo,
    zoho,
)
from returnpath.parsers.formats.base import NOT_MINE, Extraction

FORMATS: list[ModuleType] = [
    # --- standards first: they say what they mean in machine-readable fields
    arf,  # RFC 5965 feedback reports (before dsn: both are multipart/report)
    dsn,  # RFC 3464 delivery status notifications, also DSN fields inline in text
    # auto-replies before the text formats, so that no text heuristic reads an out-of-office
    # note as a bounce; autoreply itself declines anything presenting itself as a bounce
    autoreply,
    # --- vendor and plain-text bounces, by mail system
    exim,  # also Mail.Ru and other Exim-based relays
    qmail,
    postfix,  # text-only reports; with a delivery-status part dsn reads them first
    sendmail,  # also V5/V8 transcripts without a DSN part
    gmail,  # Gmail / Google Workspace text (old bounces; newer ones whose DSN part is empty)
    dragonfly,
    exchange,  # Exchange 2003-2019, Office 365, Outlook.com NDRs
    yahoo,
    googlegroups,
    amazonses,  # SES notifications (JSON) forwarded by email
    opensmtpd,
    notes,  # Lotus Notes
    domino,  # IBM / HCL Domino
    mfilter,  # m-FILTER appliance (Japanese)
    apachejames,  # also Verizon's SMS/MMS gateway
    kddi,  # au one net
    fml,  # mailing-list manager's refusals
    gmx,  # also WEB.DE and 1&1 / IONOS
    mimecast,
    surfcontrol,  # SurfControl / Websense filter
    zoho,  # before textbounce: its lines carry the reply code
    messagingserver,  # Oracle / Sun Messaging Server, when its DSN part is empty
    trendmicro,  # InterScan Messaging Security
    amavis,  # amavis content-filter notices without a delivery-status part
    mdaemon,  # its session transcript, before textbounce reads the transcript's addresses
    # any other mail system's text bounce: after every named format, before the last resorts
    textbounce,
    # --- last resorts
    fallback,  # X-Failed-Recipients / flufl.bounce, gated to small bounce-looking mail
]

__all__ = ["FORMATS", "NOT_MINE", "Extraction"]
