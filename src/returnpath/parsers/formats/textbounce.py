"""Plain-text bounces from mail systems with no module of their own (appliances, webmail, ISPs).

Recognised only when the message presents itself as a bounce: sent by a mail system
(MAILER-DAEMON, postmaster, "Mail Delivery System", empty Return-Path) with a failure or delay
Subject in one of several languages ("Undeliverable", "Mail delivery failed", "failure
notice", "Returned mail", "Delivery Status Notification", "Unzustellbar", "Non remis",
"退信", "발송 실패", ...). HTML-only notices are read as text. The notification text is cut
where the returned copy starts ("Original message follows", "copy of the message", quoted
headers, or the original's From/To/Cc/Subject lines pasted below the recipients ...).
Each address in what remains is a failed recipient, except the bounce's own sender and
recipient, mail-system mailboxes, addresses on quoted header lines, message ids, help
addresses ("please contact ..."), the sender named "from you" and the alias a recipient was
"expanded from". Its diagnostic is a server reply that names it, wherever it stands, else
the SMTP reply nearest after it ("550 5.1.1 ...", with its indented continuation lines),
else its own line when that says more than the address and a label ("Unknown user:
user@host", but not "Recipient: [SMTP:user@host]" nor "Failed to deliver to '<user@host>'"),
else the lines after it, else a reply or the lines just before it (a reason given above the
list of addresses). Runs after every named format, so it only sees mail none of them claimed.
"""

from __future__ import annotations

import re

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "textbounce"

_SUBJECTS = re.compile(
    r"undeliver|undelivered|delivery fail|failure notice|returned mail|delivery status"
    r"|mail delivery|non[- ]?delivery|could not be delivered|delivery problem|failed delivery"
    r"|unzustellbar|nicht zustellbar|non remis|non recapitabile|no se puede entregar"
    r"|onbestelbaar|error sending|mail system error|returned to sender|delivery error"
    r"|delivery has failed|could not send|not delivered|mail failure|systematic bounce"
    r"|non[- ]?deliverable|delivery report|delivery notification|bounced (?:mail|message)"
    r"|(?:mail|message) returned"
    # Chinese (QQ, NetEase: "退信", "系统退信"), Korean ("발송 실패"), Japanese, Russian,
    # Portuguese, Polish, Swedish and Czech failure subjects
    r"|退信|发送失败|无法送达|無法傳遞|未送达|배달\s*못\s*함|недоставляем|발송\s*실패|전송\s*실패|配信(?:エラー|失敗|不能)|不達|送信エラー"
    r"|недоставлен|не доставлен|não entregue|nao entregue|niedostarcz|kunde inte levereras"
    r"|nedoručiteln|mancato recapito|non recapitat|no entregado|error de entrega"
    r"|échec de (?:la )?(?:remise|distribution|livraison)|non délivré|zustellfehler"
    r"|nicht zugestellt|niet afgeleverd|falha na entrega"
    # delay notices: English, German, French, Italian, Spanish, Dutch, Japanese, Chinese
    r"|\bdelayed\b|verzögert|retardée?|ritardat|retrasad|vertraagd|遅延|延迟|延遲"
    # content filters (Barracuda, amavis) name what they stopped
    r"|message (?:you sent )?(?:was )?blocked|blocked by our|banned contents? from you"
    r"|virus .{0,80}in (?:e-?)?mail from you|unsolicited bulk e-?mail",
    re.I,
)
# A positive notification ("Delivery Status Notification (Relay)", "Delivered: hello") names
# recipients too, but none of them failed.
_SUCCESS = re.compile(
    r"\((?:success|relay|delivered)\)|^(?:delivered|relayed|read):|successfully delivered"
    r"|delivery (?:to the following recipients? )?(?:was|has been) (?:successful|completed)"
    r"|was delivered successfully|has been relayed|has been delivered",
    re.I | re.M,
)
_FAILURE = re.compile(r"fail|undeliver|not (?:be )?delivered|error|reject|could not|unable", re.I)
_SEPARATORS = (
    "Original message follows",
    "original message follows",
    "Below this line is a copy",
    "copy of the message",
    "copy of your message",
    "Included is a copy of the message",
    "The header of the original message",
    "------ Original message",
    "----- Original message",
    "-----Original Message",
    "Original message headers",
    "original message header",
    "Returned Message",
    "Unsent message follows",
    "Message headers follow",
)
_QUOTED_HEADERS = re.compile(r"^(?:Received|Return-Path|Message-ID|DKIM-Signature):", re.M | re.I)
_REPLY = re.compile(r"(?<![\d.\w-])[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\b)?.{4,}")
_DELAY = re.compile(
    r"delayed|will be retried|still trying|not yet been delivered|will continue to try"
    r"|temporary failure report|warning message only|attempts will continue|will keep trying"
    r"|still being retried|verzögert|retardée?|ritardat|retrasad|vertraagd|遅延|延迟|延遲"
    r"|wird weiterhin versucht|nouvelle tentative|erneut versucht",
    re.I,
)
# Header-like lines quoted in the notice: their addresses are message ids and senders.
_HEADER_LINE = re.compile(
    r"^\s*(?:message-id|in-reply-to|references|return-path|received|reporting-mta|from|sender"
    r"|reply-to|date|x-[\w-]+)\s*:",
    re.I,
)
# The original's headers, as a copy pasted into the notice shows them.
_ORIGINAL_HEADER = re.compile(
    r"^\s*(?:from|to|cc|bcc|subject|date|sent|reply-to|betreff|gesendet|objet|envoyé|oggetto"
    r"|asunto|assunto|onderwerp|件名|主题|主旨|제목)\s*[:\uff1a]",
    re.I,
)
# "(expanded from <alias>)", "generated from alias": the address the sender used, not the failure.
_ALIAS_BEFORE = re.compile(r"(?:expanded|generated|forwarded|redirected) from\s*<?$", re.I)
# A message id quoted inside a line ("12:00:01: *  Message-ID: <id@host>"): not an address.
_ID_BEFORE = re.compile(r"(?:message-id|in-reply-to|references)\s*:\s*<?$", re.I)
_UNDERLINE = re.compile(r"^\s*(?:={3,}|-{3,})\s*$")
# Lines every notice carries whatever went wrong: they are not the reason.
_BOILERPLATE = re.compile(
    r"automatically generated|delivery status notification|^this is the mail (?:system|delivery)"
    r"|following (?:recipients?|addresses?)\b.*:$",
    re.I,
)
# What may stand beside an address on its line without saying why it failed: a label
# ("Recipient:", "收件人：", "받는 사람") or "Failed to deliver to '<x>'" (CommuniGate Pro).
_LABEL = re.compile(
    r"^(?:(?:final[- ]|original[- ])?recipients?(?: address)?|to|an|à|a|destinataire|empfänger"
    r"|destinatario|destinatário|adressat|收件人|收信人|받는\s*사람|수신자|宛先|送信先"
    r"|failed to deliver to|could not (?:be )?deliver(?:ed)? to|unable to deliver (?:message )?to"
    r"|undeliverable to|delivery to|(?:your )?message to|(?:the )?addresse?s? failed"
    r"|failed (?:recipients?|addresse?s?))\W*$",
    re.I,
)
# An address type written before the address ("[SMTP:user@host]", "rfc822;user@host").
_ADDRESS_TYPE = re.compile(r"\b(?:smtp|rfc822|mailto)\s*[:;]|[\[\]()<>]", re.I)
_NOT_RECIPIENT = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
# Lines that give a help address ("please contact abuse@isp.example") rather than a failure.
_HELP_LINE = re.compile(
    r"contact|assistance|questions|support|send (?:an? )?(?:e-?mail|mail) to|write to|reply to"
    r"|abuse@|help@|\bsent by\b|\bfrom:|\bfrom you\b|envelope-from|\bsender\b",
    re.I,
)


MAX_LINE = 2000
MAX_CANDIDATES = 500


def extract(msg: Message) -> Extraction:
    if not _SUBJECTS.search(_text.subject(msg)) or not _text.from_daemon(msg):
        return NOT_MINE
    if _SUCCESS.search(_text.subject(msg)):
        return NOT_MINE
    text = _text.text_of(msg)
    notice = _text.cut(text, _SEPARATORS)
    quoted = _QUOTED_HEADERS.search(notice)
    if quoted:
        notice = notice[: quoted.start()]
    notice = _cut_quoted_original(notice)
    if _SUCCESS.search(notice) and not _FAILURE.search(notice):
        return NOT_MINE
    own = {_text.from_address(msg), *(_own_addresses(msg))}
    # Bounded work on hostile input: a notice lists a handful of recipients on short lines,
    # so very long lines are cut and the scan stops after MAX_CANDIDATES addresses (every
    # address costs a look at the lines around it).
    lines = [line[:MAX_LINE] for line in notice.split("\n")]
    named = _replies_naming(lines)
    deliveries: list[Delivery] = []
    candidates = 0
    delayed = bool(_DELAY.search(_text.subject(msg))) or bool(_DELAY.search(notice[:2000]))
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        if _HEADER_LINE.match(line) or (_HELP_LINE.search(line) and not _REPLY.search(line)):
            continue
        for match in _text.ADDRESS.finditer(line):
            candidates += 1
            if candidates > MAX_CANDIDATES:
                break
            before = line[max(0, match.start() - 24) : match.start()]
            if _ALIAS_BEFORE.search(before) or _ID_BEFORE.search(before):
                continue
            address = match.group(0).strip(".'`").lower()
            if address in own or address.split("@")[0] in _NOT_RECIPIENT:
                continue
            if "mailto:" in line[max(0, match.start() - 8) : match.start()] and any(
                d.recipient == address for d in deliveries
            ):
                continue
            deliveries.append(
                _text.delivery(
                    address,
                    fmt=NAME,
                    diagnostic=named.get(address) or _diagnostic(lines, index, match),
                    action=Action.DELAYED if delayed else Action.FAILED,
                )
            )
    deliveries = list(_text.unique(deliveries))
    if not deliveries:
        return NOT_MINE
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    if message_id:
        deliveries = [_with_message_id(d, message_id) for d in deliveries]
    return Extraction(kind=MessageKind.BOUNCE, deliveries=tuple(deliveries))


def _cut_quoted_original(notice: str) -> str:
    """The notice without a copy of the original pasted below the recipients as plain text.

    Some systems append the original's From/To/Cc/Subject lines and its body, with no
    separator we know: its Cc addresses and the addresses in its body are no failures. A
    block of two such header lines in a row only counts after the first address: notices
    also recall the message ("Subject: ...", "Sent: ...") above their list of recipients.
    """
    lines = notice.split("\n")
    seen_address = False
    for index, line in enumerate(lines):
        if not seen_address:
            seen_address = "@" in line and not _HEADER_LINE.match(line)
            continue
        if _ORIGINAL_HEADER.match(line) and _ORIGINAL_HEADER.match(
            lines[index + 1] if index + 1 < len(lines) else ""
        ):
            return "\n".join(lines[:index])
    return notice


def _own_addresses(msg: Message) -> list[str]:
    """The bounce's own To/Reply-To (the sender of the original), which are not failures."""
    found = []
    for name in ("To", "Reply-To", "Sender"):
        address = _text.clean_address(_text.header(msg, name))
        if address:
            found.append(address)
    return found


def _replies_naming(lines: list[str]) -> dict[str, str]:
    """Each address named inside a server's reply ("553 5.3.0 <x@host>... No such user"),
    with the first such reply: where replies are listed apart from the recipients, the reply
    that names a recipient is that recipient's, whatever its position."""
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        reply = _REPLY.search(line)
        if reply is None:
            continue
        for address in _text.ADDRESS.findall(reply.group(0)):
            found.setdefault(
                address.strip(".'`").lower(), _balanced(_continued(reply.group(0), lines, index))
            )
    return found


def _diagnostic(lines: list[str], index: int, match: re.Match[str]) -> str | None:
    """The SMTP reply nearest after the address, else the rest of its line, else what follows.

    The search stops at the next line that names another address, so that one recipient does
    not take another's reply.
    """
    for offset, line in enumerate(lines[index : index + 10]):
        if offset and _text.ADDRESS_LINE.match(line):
            break
        reply = _REPLY.search(line)
        if reply:
            return _balanced(_continued(reply.group(0), lines, index + offset))
    line = lines[index]  # the match's offsets are in the unstripped line
    rest = _ADDRESS_TYPE.sub(" ", _text.ADDRESS.sub(" ", line))
    rest = rest.strip(" <>[]:;,.()*\t'\"\uff1a\uff0c")
    if len(rest.split()) >= 2 and not _LABEL.match(rest):
        return _balanced(line.strip(" *\t"))
    following: list[str] = []
    for offset, line in enumerate(lines[index + 1 : index + 8], start=index + 1):
        stripped = line.strip()
        if offset + 1 < len(lines) and _UNDERLINE.match(lines[offset + 1]):
            break  # a section heading ("Additional Information" over "=====") starts
        if not stripped:
            if following and not following[-1].endswith((":", "\uff1a")):  # also "："
                break
            continue
        if _text.ADDRESS_LINE.match(line) or not any(c.isalpha() for c in stripped):
            if following:
                break
            continue
        if _ORIGINAL_HEADER.match(line):
            continue  # "Subject: ..." recalls the message, it is no reason
        following.append(stripped)
        if len(following) >= 3:
            break
    if following:
        return " ".join(following)
    # Nothing after the address: the reason was given before the list of addresses.
    for line in reversed(lines[max(0, index - 8) : index]):
        reply = _REPLY.search(line)
        if reply:
            return _balanced(reply.group(0))
    before = [b.strip() for b in lines[max(0, index - 6) : index] if b.strip()]
    before = [b for b in before if not _text.ADDRESS.search(b) and not _BOILERPLATE.search(b)]
    return " ".join(before[-3:]) or rest or None


def _continued(reply: str, lines: list[str], index: int) -> str:
    """A reply wrapped onto indented lines below it ("550 5.1.1" / "    <x>: User unknown"),
    joined; a reply that ends its line mid-sentence is otherwise cut to its bare code."""
    parts = [reply.rstrip()]
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in lines[index + 1 : index + 5]:
        stripped = line.lstrip()
        if len(line) - len(stripped) <= indent or not stripped or _text.ADDRESS_LINE.match(line):
            break
        if _REPLY.match(line.strip()) and line.strip()[:3] != reply[:3]:
            break  # another recipient's reply
        parts.append(line.strip())
    return _text.squeeze_reply(" ".join(parts)) if len(parts) > 1 else reply


def _balanced(text: str) -> str:
    """Drop a closing bracket whose opening one was cut off with the text before the reply."""
    text = text.strip()
    for opening, closing in ("[]", "()"):
        if text.endswith(closing) and opening not in text:
            text = text[:-1].rstrip()
    return text


def _with_message_id(delivery: Delivery, message_id: str) -> Delivery:
    from dataclasses import replace

    return replace(delivery, original_message_id=message_id)
