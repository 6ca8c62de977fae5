"""UID FETCH for the two requests a pass makes, read without imapclient's general parser.

imapclient reads a FETCH response token by token in Python: for the bodies of a batch that
is about a tenth of the poller's CPU per message. A pass only ever asks for
(RFC822.SIZE INTERNALDATE) and (BODY.PEEK[]), and servers answer those in a plain shape:

    * 5 FETCH (UID 12 RFC822.SIZE 3456 INTERNALDATE "28-Nov-2026 15:00:00 +0000")
    * 5 FETCH (UID 12 BODY[] {3456}
    <3456 bytes>)

fetch() sends the command imapclient's own fetch() would send and reads each response of
that shape with one regular expression. A response of any other shape (unsolicited FLAGS, a
MODSEQ, a quoted or NIL body, no UID) sends the whole response to imapclient's parser
instead, so the result is always what IMAPClient.fetch() returns.
"""

from __future__ import annotations

import re
from typing import Any

from imapclient import IMAPClient
from imapclient.datetime_util import parse_to_datetime
from imapclient.imapclient import join_message_ids, seq_to_parenstr_upper
from imapclient.response_parser import parse_fetch_response

#: One "ITEM value" pair of the plain shape, at the start of what is left of a response.
_PAIR = re.compile(rb'(UID|RFC822\.SIZE) (\d+)|INTERNALDATE "([^"\\]*)"')
#: A response without a literal: "SEQ (pairs)".
_WHOLE = re.compile(rb"(\d+) \((.*)\)", re.S)
#: The part of a response before its body literal: "SEQ (pairs BODY[] {size}".
_HEAD = re.compile(rb"(\d+) \((.*?) ?BODY\[\] \{(\d+)\}", re.S)

Response = dict[int, dict[bytes, Any]]


def fetch(client: IMAPClient, uids: list[int], items: list[str]) -> Response:
    """IMAPClient.fetch(uids, items) for a client that uses UIDs, read faster."""
    if not uids:
        return {}
    if not client.use_uid:
        return dict(client.fetch(uids, items))
    imap = client._imap
    tag = imap._command("UID", "FETCH", join_message_ids(uids), seq_to_parenstr_upper(items))
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    response = read_plain(data, client.normalise_times)
    if response is None:
        response = parse_fetch_response(data, client.normalise_times, True)
    # as IMAPClient.fetch: unsolicited responses for other messages are dropped
    return {uid: response[uid] for uid in uids if uid in response}


def read_plain(data: list[Any], normalise_times: bool = True) -> Response | None:
    """The FETCH responses imaplib collected, keyed by UID; None unless all are plain."""
    if data == [None]:
        return {}
    found: Response = {}
    items = iter(data)
    for item in items:
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[1], bytes):
                return None
            head = _HEAD.fullmatch(item[0])
            if head is None or int(head.group(3)) != len(item[1]):
                return None
            fields = _pairs(head.group(2), normalise_times)
            tail = next(items, None)
            if fields is None or not isinstance(tail, bytes) or not tail.endswith(b")"):
                return None
            rest = _pairs(tail[:-1].strip(), normalise_times)
            if rest is None:
                return None
            fields.update(rest)
            fields[b"BODY[]"] = item[1]
            seq = head.group(1)
        elif isinstance(item, bytes):
            whole = _WHOLE.fullmatch(item)
            if whole is None:
                return None
            fields = _pairs(whole.group(2), normalise_times)
            if fields is None:
                return None
            seq = whole.group(1)
        else:
            return None
        uid = fields.pop(b"UID", None)
        if uid is None:
            return None
        found.setdefault(uid, {}).update({b"SEQ": int(seq), **fields})
    return found


def _pairs(text: bytes, normalise_times: bool) -> dict[bytes, Any] | None:
    """The pairs of `text`, space-separated; None if anything else is in it."""
    fields: dict[bytes, Any] = {}
    pos, end = 0, len(text)
    while pos < end:
        pair = _PAIR.match(text, pos)
        if pair is None:
            return None
        if pair.group(1) is not None:
            fields[pair.group(1)] = int(pair.group(2))
        else:
            try:
                fields[b"INTERNALDATE"] = parse_to_datetime(pair.group(3),
                                                            normalise=normalise_times)
            except ValueError:
                fields[b"INTERNALDATE"] = None  # as imapclient: an unreadable date is None
        pos = pair.end()
        if pos < end:
            if text[pos : pos + 1] != b" ":
                return None
            pos += 1
    return fields
