"""Reading SMTP reply codes and enhanced status codes out of diagnostic text.

Shared by the format modules and by classify(): a Diagnostic-Code such as
"smtp; 550 5.1.1 <x@example.com>: Recipient address rejected" carries both codes.
"""

from __future__ import annotations

import re

#: An SMTP reply code at the start of a reply line ("550 ", "550-", "550:").
_REPLY = re.compile(r"(?<![\d.])([245][0-5]\d)(?:[ \-:]|$)")
#: An enhanced status code (RFC 3463) anywhere in the text.
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
#: A "type;" prefix of a DSN field value ("smtp; ", "rfc822; ", "X-Postfix; ").
_TYPE = re.compile(r"^\s*[A-Za-z][A-Za-z0-9-]{0,20}\s*;\s*")


def strip_type(value: str) -> str:
    """A DSN field value without its leading type ("smtp; 550 ..." -> "550 ...")."""
    return _TYPE.sub("", value or "", count=1).strip()


def diagnostic_text(value: str) -> str:
    """A Diagnostic-Code value for reading: "smtp;" dropped, other types ("X-Unix; 71") kept,
    since they say the failure was local, not an SMTP reply. Raw ISO-2022-JP (as Japanese
    mail systems write it) is decoded."""
    value = decode_escapes((value or "").strip())
    if value[:5].lower() == "smtp;":
        return value[5:].strip()
    return value


def decode_escapes(text: str) -> str:
    """Text with raw ISO-2022-JP escape sequences decoded; anything else unchanged."""
    if "\x1b$" not in text:
        return text
    try:
        return text.encode("latin-1").decode("iso-2022-jp")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def enhanced_codes(text: str) -> list[str]:
    """Every enhanced status code in the text, in order ("5.1.1", ...)."""
    return [f"{a}.{b}.{c}" for a, b, c in _ENHANCED.findall(text[:8192])]


def reply_code(text: str) -> str | None:
    """The first SMTP reply code in the text, or None."""
    m = _REPLY.search(text[:8192])
    return m.group(1) if m else None


def diagnostic_codes(text: str) -> tuple[str | None, str | None]:
    """(SMTP reply code, the most specific enhanced status code) found in diagnostic text.

    A specific code ("5.1.1") beats a generic one ("5.0.0") anywhere in the text.
    """
    codes = enhanced_codes(text)
    status = None
    for code in codes:
        if status is None or (
            status.endswith(".0.0") and not code.endswith(".0.0") and code[0] == status[0]
        ):
            status = code
    return reply_code(text), status


#: Where a bounce names the command a reply answered: Postfix "(in reply to RCPT TO
#: command)", Sendmail/Exim transcripts ">>> DATA", Exim "SMTP error from remote mail server
#: after RCPT TO:<...>".
_COMMAND = re.compile(
    r"in reply to (?:end of )?([a-z]+(?: (?:from|to))?)\s+command"
    r"|>>>\s*([a-z]+(?: (?:from|to))?)\b"
    r"|\bafter (?:end of )?(rcpt to|mail from|data|ehlo|helo|initial connection)\b"
)
_COMMAND_NAMES = {
    "RCPT TO": "RCPT", "RCPT": "RCPT", "MAIL FROM": "MAIL", "MAIL": "MAIL", "DATA": "DATA",
    "EHLO": "EHLO", "HELO": "EHLO", "INITIAL CONNECTION": "CONN", "STARTTLS": "EHLO",
    "BDAT": "DATA",
}  # fmt: skip


def last_command(text: str) -> str | None:
    """The last SMTP command named in a bounce's account of the session, or None.

    The last one is what the failing reply answered: a transcript lists the accepted
    MAIL and RCPT before the DATA that was refused.
    """
    text = text[-16384:].lower()
    if "command" not in text and ">>>" not in text and "after " not in text:
        return None
    found = None
    for m in _COMMAND.finditer(text):
        word = " ".join((m.group(1) or m.group(2) or m.group(3)).upper().split())
        found = _COMMAND_NAMES.get(word, found)
    return found
