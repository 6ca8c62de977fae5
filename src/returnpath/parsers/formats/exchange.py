"""Microsoft Exchange (2003 to 2019) and Office 365 / Outlook.com non-delivery reports.

Recognised by Exchange's wording, in the languages it ships: the heading "Delivery has failed
to these recipients or groups:" (German "Fehler bei der Zustellung an folgende Empfänger oder
Gruppen:", French "La remise à ces destinataires ou groupes a échoué :", Italian "Il recapito
non è riuscito ...", ...), the section "Diagnostic information for administrators:", where
each recipient stands alone on a line followed by "Remote Server returned '550 5.1.1
RESOLVER.ADR.RecipNotFound; not found'" (or "#550 5.1.1 ...##" in Exchange 2007), and
Exchange 2003's "did not reach the following recipient(s):" with "user@host on DATE" and the
reason indented below. The remote reply in "Remote Server returned" stays English in every
language, which is what the diagnostic is taken from. When the report also has a
message/delivery-status part, dsn.py reads that first.
"""

from __future__ import annotations

import re
from dataclasses import replace

from returnpath.model import Action, Delivery, MessageKind
from returnpath.parsers.formats import _text
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message

NAME = "exchange"

_MARKERS = (
    "Remote Server returned",
    "Remote server returned",
    "Diagnostic information for administrators",
    "Diagnoseinformationen für Administratoren",
    "Informations de diagnostic pour les administrateurs",
    "Información de diagnóstico para administradores",
    "Informazioni di diagnostica per gli amministratori",
    "Informações de diagnóstico para administradores",
    "Diagnostische gegevens voor beheerders",
    "管理者向けの診断情報",
    "Delivery has failed to these recipients",
    "did not reach the following recipient",
    "hat einige oder alle Empfänger nicht erreicht",
    "n'a pas atteint tous les destinataires",
    "MSEXCH:",
    "Delivery is delayed to these recipients",
)
_DELAYED = ("Delivery is delayed to these recipients", "has not been delivered yet")
_SEPARATORS = (
    "Original message headers:",
    "Ursprüngliche Nachrichtenkopfzeilen:",
    "En-têtes de message d'origine :",
    "Encabezados del mensaje original:",
    "Intestazioni originali del messaggio:",
    "Cabeçalhos originais da mensagem:",
    "Oorspronkelijke berichtkoppen:",
    "元のメッセージ ヘッダー:",
)
_RETURNED = re.compile(r"'([245]\d\d[ -][^']*)'|#([245]\d\d[ -][^#]*)#")
_RETURNED_AT = re.compile(r"Remote Server at (\S+)", re.I)
_RECEIVING = re.compile(
    r"^(?:Receiving server|Empfangender Server|Serveur de réception)\s*:\s*(\S+)", re.M
)
# Exchange 2003: "user@host on 29/04/2010 10:00:00" then the reason, indented.
_ON_DATE = re.compile(rf"^\s*<?({_text._ADDR})>?\s+on\s+\S.*$", re.I)
# The summary: "Name<mailto:user@host>" or "user@host (user@host)<mailto:user@host>".
_MAILTO = re.compile(rf"<mailto:({_text._ADDR})>")


def extract(msg: Message) -> Extraction:
    text = _text.text_of(msg)
    if not any(marker in text for marker in _MARKERS):
        return NOT_MINE
    notice = _text.cut(text, _SEPARATORS)
    message_id = _text.original_message_id(msg, _text.after(text, _SEPARATORS))
    receiving = _RECEIVING.search(notice)
    remote = receiving.group(1) if receiving else None
    deliveries = _diagnostic_blocks(notice, remote, message_id)
    if not deliveries:
        deliveries = _exchange2003(notice, message_id)
    if not deliveries:
        deliveries = _summary(notice, message_id)
    if not deliveries:
        return NOT_MINE
    if any(phrase in notice for phrase in _DELAYED) or _text.subject(msg).startswith("Delayed:"):
        deliveries = [replace(d, action=Action.DELAYED) for d in deliveries]
    return Extraction(kind=MessageKind.BOUNCE, deliveries=_text.unique(deliveries))


def _diagnostic_blocks(notice: str, remote: str | None, message_id: str | None) -> list[Delivery]:
    """Bare address lines each followed by the remote reply in quotes or between # marks."""
    found: list[Delivery] = []
    lines = notice.split("\n")
    for i, line in enumerate(lines):
        match = _text.ADDRESS_LINE.match(line)
        if not match:
            continue
        block: list[str] = []
        for follow in lines[i + 1 : i + 8]:
            if not follow.strip():
                if block:
                    break
                continue
            if _text.ADDRESS_LINE.match(follow):
                break
            block.append(follow.strip())
        joined = " ".join(block)
        reply = _RETURNED.search(joined)
        if reply is None:
            continue
        at = _RETURNED_AT.search(joined)
        found.append(
            _text.delivery(
                match.group(1).lower(),
                fmt=NAME,
                diagnostic=reply.group(1) or reply.group(2),
                remote_mta=at.group(1) if at else remote,
                original_message_id=message_id,
            )
        )
    return found


def _exchange2003(notice: str, message_id: str | None) -> list[Delivery]:
    """Exchange 2003: "user@host on DATE" with the reason on the indented lines below."""
    found: list[Delivery] = []
    lines = notice.split("\n")
    for i, line in enumerate(lines):
        match = _ON_DATE.match(line)
        if not match:
            continue
        reason: list[str] = []
        for follow in lines[i + 1 :]:
            if not follow.strip() or not follow[:1].isspace():
                break
            reason.append(follow.strip())
        found.append(
            _text.delivery(
                match.group(1).lower(),
                fmt=NAME,
                diagnostic=" ".join(reason) or None,
                original_message_id=message_id,
            )
        )
    return found


def _summary(notice: str, message_id: str | None) -> list[Delivery]:
    """No diagnostic section: the "<mailto:...>" recipients and the explanation after each."""
    found: list[Delivery] = []
    lines = notice.split("\n")
    for i, line in enumerate(lines):
        match = _MAILTO.search(line)
        if not match:
            continue
        explanation = next((f.strip() for f in lines[i + 1 : i + 4] if f.strip()), None)
        if explanation and _MAILTO.search(explanation):
            explanation = None
        found.append(
            _text.delivery(
                match.group(1).lower(),
                fmt=NAME,
                diagnostic=explanation,
                original_message_id=message_id,
            )
        )
    return found
