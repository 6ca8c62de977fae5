"""A large message reduced to what a bounce needs, fetched section by section over IMAP.

A message over max_fetch_bytes is never fetched whole: from its BODYSTRUCTURE the poller picks
the text and status parts (each cut at MAX_PART_BYTES) and the returned original's headers,
fetches only those sections with BODY.PEEK (the \\Seen flag is not set), and assembles a small
multipart message that parse() reads like the original. The top-level headers are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from imapclient import IMAPClient

#: In a reduced message, each text or status part is cut at this many bytes.
MAX_PART_BYTES = 256 * 1024
#: How many leaf parts of a large message are fetched at most.
MAX_PARTS = 12

_STATUS_TYPES = {
    ("message", "delivery-status"),
    ("message", "global-delivery-status"),
    ("message", "feedback-report"),
    ("text", "rfc822-headers"),
    ("message", "rfc822-headers"),
    ("message", "disposition-notification"),
}
_ORIGINAL_TYPES = {("message", "rfc822"), ("message", "global")}


def atom_text(value: Any) -> str:
    """An IMAP atom or string from imapclient (bytes, str or None) as text."""
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return "" if value is None else str(value)


def _leaves(structure: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(section, leaf body structure) pairs in order; message/rfc822 parts are leaves."""
    if isinstance(structure[0], list):
        for i, part in enumerate(structure[0], 1):
            yield from _leaves(part, f"{prefix}{i}" if not prefix else f"{prefix}.{i}")
    else:
        yield (prefix or "1"), structure


def _params(structure: Any) -> dict[str, str]:
    raw = structure[2] if len(structure) > 2 else None
    if not isinstance(raw, tuple | list):
        return {}
    items = list(raw)
    return {
        atom_text(items[i]).lower(): atom_text(items[i + 1]) for i in range(0, len(items) - 1, 2)
    }


def assemble_reduced(
    client: IMAPClient, uid: int, header: bytes, structure: Any, size: int
) -> bytes:
    """A small multipart message with what a bounce needs, built from sections of a large one.

    The top-level headers are kept (Content-Type replaced by a new boundary); the text and
    status parts come cut at MAX_PART_BYTES; a returned original (message/rfc822) is reduced
    to its headers, as text/rfc822-headers, so the original's Message-ID and correlation
    headers survive. Only BODY.PEEK sections are fetched: the \\Seen flag is not set.
    """
    boundary = f"=_returnpath_reduced_{uid}"
    top_multipart = isinstance(structure[0], list)
    subtype = atom_text(structure[1]).lower() if top_multipart else "mixed"
    report_type = _params(structure).get("report-type") if top_multipart else None
    report_param = f"; report-type={report_type}" if report_type else ""
    kept_headers = _strip_content_headers(header)
    wanted: list[tuple[str, str, Any]] = []  # (section, kind, structure)
    for section, leaf in _leaves(structure):
        mtype, msub = atom_text(leaf[0]).lower(), atom_text(leaf[1]).lower()
        if (mtype, msub) in _ORIGINAL_TYPES:
            wanted.append((section, "original", leaf))
        elif (mtype, msub) in _STATUS_TYPES or mtype == "text":
            wanted.append((section, "part", leaf))
        if len(wanted) >= MAX_PARTS:
            break
    if not top_multipart:
        # A single-part message: its body is section TEXT; keep its own content headers.
        body = client.fetch([uid], [f"BODY.PEEK[TEXT]<0.{MAX_PART_BYTES}>"])[uid]
        text = _partial(body, "BODY[TEXT]")
        return header.rstrip(b"\r\n") + (
            f"\r\nX-Returnpath-Reduced: {size} bytes on the server, body cut at "
            f"{MAX_PART_BYTES}\r\n\r\n"
        ).encode() + text
    items = []
    for section, kind, _leaf in wanted:
        if kind == "original":
            items += [f"BODY.PEEK[{section}.HEADER]"]
        else:
            items += [f"BODY.PEEK[{section}.MIME]", f"BODY.PEEK[{section}]<0.{MAX_PART_BYTES}>"]
    fetched = client.fetch([uid], items)[uid] if items else {}
    out = [kept_headers.rstrip(b"\r\n"), (
        f"\r\nContent-Type: multipart/{subtype}{report_param}; boundary=\"{boundary}\""
        f"\r\nX-Returnpath-Reduced: {size} bytes on the server; parts "
        f"{','.join(s for s, _, _ in wanted) or 'none'}\r\n\r\n"
    ).encode()]
    for section, kind, _leaf in wanted:
        out.append(f"--{boundary}\r\n".encode())
        if kind == "original":
            head = _partial(fetched, f"BODY[{section}.HEADER]")
            out.append(b"Content-Type: text/rfc822-headers\r\n\r\n" + head.rstrip(b"\r\n"))
        else:
            mime = _partial(fetched, f"BODY[{section}.MIME]").rstrip(b"\r\n")
            body = _partial(fetched, f"BODY[{section}]")
            out.append(mime + b"\r\n\r\n" + body.rstrip(b"\r\n"))
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _partial(item: dict[bytes, Any], key: str) -> bytes:
    """A BODY[...] value; for partial fetches the server answers with the key plus <0>."""
    kb = key.encode()
    value = item.get(kb)
    if value is None:
        value = item.get(kb + b"<0>")
    if value is None:
        for k, v in item.items():
            if isinstance(k, bytes) and k.startswith(kb):
                value = v
                break
    return value if isinstance(value, bytes) else b""


def _strip_content_headers(header: bytes) -> bytes:
    """The header block without Content-Type / Content-Transfer-Encoding (and their folds)."""
    out: list[bytes] = []
    skipping = False
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skipping = name in (b"content-type", b"content-transfer-encoding")
        if not skipping and line.strip():
            out.append(line)
    return b"".join(out)
