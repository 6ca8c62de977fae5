"""Signed VERP return-path tokens: `bounces+TOKEN@domain`.

TOKEN is `<payload>-<mac>`: the payload is the recipient (and, when given, "\\n" + the
campaign) in lower-case unpadded base32, the mac the first 10 bytes (80 bits) of
HMAC-SHA256(secret, payload bytes), also base32. Base32 survives what mail systems do to
local parts: some lower-case them, none may be trusted to keep case, and its alphabet
(a-z, 2-7) needs no quoting. The mac covers the payload as decoded, so a token whose
letters were case-folded still verifies, and changing any letter of recipient or campaign
breaks it.

States: VALID (a token that verifies under the key), INVALID (something shaped like a
token that does not verify: tampered, truncated or signed with another key) and ABSENT
(no token). Without a key nothing can be verified, so `find_token` reports ABSENT: an
unverifiable token is no evidence, and callers that require signed VERP treat it as
untrusted either way.

Addresses grow long: a 30-character recipient gives a local part of about 72 characters,
above RFC 5321's 64; mainstream MTAs accept such local parts, as bulk senders' long VERP
addresses show.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import re
from dataclasses import dataclass

from returnpath.model import VerpState
from returnpath.parsers.message import Message

#: Bytes of HMAC-SHA256 kept: 80 bits is far beyond guessing by sending forged bounces.
MAC_BYTES = 10
_MAC_CHARS = 16  # base32 length of MAC_BYTES
_TOKEN = re.compile(rf"^([a-z2-7]+)-([a-z2-7]{{{_MAC_CHARS}}})$", re.I)
#: Headers of a bounce that carry the address it was delivered to (the VERP address).
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass(frozen=True, slots=True)
class VerpToken:
    """What a bounce address's token says: its state, and when valid, who and which campaign."""

    state: VerpState
    recipient: str | None = None
    campaign: str | None = None
    address: str | None = None  # the address the token was found in


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b32decode(text: str) -> bytes:
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:MAC_BYTES]


def token_for(recipient: str, secret: bytes, *, campaign: str | None = None) -> str:
    """The token alone (what goes after "+")."""
    if not secret:
        raise ValueError("a VERP secret must not be empty")
    if "\n" in recipient or (campaign and "\n" in campaign):
        raise ValueError("recipient and campaign must be single lines")
    payload = recipient.encode("utf-8")
    if campaign:
        payload += b"\n" + campaign.encode("utf-8")
    return f"{_b32encode(payload)}-{_b32encode(_mac(secret, payload))}"


def encode(
    recipient: str,
    secret: bytes,
    *,
    campaign: str | None = None,
    local: str = "bounces",
    domain: str,
) -> str:
    """The signed return-path address `local+TOKEN@domain` for one recipient."""
    if not domain or "@" in domain:
        raise ValueError(f"not a domain: {domain!r}")
    return f"{local}+{token_for(recipient, secret, campaign=campaign)}@{domain.lower()}"


def verify(address: str, secret: bytes | None) -> VerpToken:
    """The state of the token in `address` ("bounces+TOKEN@domain", with or without <>)."""
    address = (address or "").strip().strip("<>").strip()
    local = address.rpartition("@")[0] if "@" in address else address
    if "+" not in local:
        return VerpToken(VerpState.ABSENT)
    m = _TOKEN.match(local.split("+", 1)[1])
    if m is None:
        return VerpToken(VerpState.ABSENT)
    if not secret:
        return VerpToken(VerpState.ABSENT, address=address)
    try:
        payload = _b32decode(m.group(1))
        mac = _b32decode(m.group(2))
    except (binascii.Error, ValueError):
        return VerpToken(VerpState.INVALID, address=address)
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return VerpToken(VerpState.INVALID, address=address)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return VerpToken(VerpState.INVALID, address=address)
    recipient, _, campaign = text.partition("\n")
    return VerpToken(VerpState.VALID, recipient, campaign or None, address)


def find_token(msg: Message, secret: bytes | None) -> VerpToken | None:
    """The token in the bounce's envelope-recipient headers, best state first; None if none.

    A valid token wins over an invalid one (a forwarded bounce may carry both).
    """
    best: VerpToken | None = None
    for name in ENVELOPE_HEADERS:
        for raw_value in msg.raw_headers(name):
            if "+" not in str(raw_value):
                continue  # the common case, decided without parsing addresses
            for _, addr in email.utils.getaddresses([str(raw_value)]):
                if "+" not in addr:
                    continue
                token = verify(addr, secret)
                if token.state is VerpState.VALID:
                    return token
                if token.state is VerpState.INVALID or (best is None and token.address):
                    best = token
    return best
