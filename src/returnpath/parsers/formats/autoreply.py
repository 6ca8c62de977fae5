"""Automatic replies: out-of-office, vacation and other auto-responders.

Recognised by RFC 3834 `Auto-Submitted: auto-replied`, by the common non-standard markers
(X-Autoreply, X-Autorespond, X-Autoresponder, `Precedence: auto_reply`, Microsoft's
X-MS-Exchange auto-reply headers, Apple's `X-Apple-Action: vacation` and Google's vacation
markers), or by an out-of-office subject in English, German, French, Spanish, Italian,
Portuguese, Dutch, Japanese, Chinese, Korean, Russian, Polish, Swedish, Danish/Norwegian,
Finnish, Czech, Turkish or Hungarian. With `Auto-Submitted: auto-generated` or Microsoft's
X-Auto-Response-Suppress any such subject is enough; without a header only a subject that
says "automatic reply" or "out of office" outright is.

A message that presents itself as a delivery failure (mailer-daemon sender, report content
type, failure subject, X-Failed-Recipients) is never an auto-reply, whatever its headers
say: Exim, for one, marks its bounces `Auto-Submitted: auto-replied`. The recipient is the
sender of the reply, the address that was mailed.
"""

from __future__ import annotations

import re

from returnpath.model import Delivery, MessageKind, Reason
from returnpath.parsers.formats.base import NOT_MINE, Extraction
from returnpath.parsers.message import Message, clean_address

NAME = "autoreply"

#: Headers whose mere presence marks an automatic reply.
_MARKER_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-Autoresponse",
    "X-Auto-Reply",
    "X-Mail-Autoreply",
    "X-Vacation",
    "X-Autoreply-From",
    "X-Apple-Auto-Reply",
    "X-Google-Vacation",
    "X-MS-Exchange-Organization-AutoReply",
)
#: Marker headers whose value must say "no"/"false" to not count.
_FALSE = re.compile(r"^\s*(?:no|false|0|off)\b", re.I)

#: Subjects that say "automatic reply" or "out of office" outright.
_STRONG_SUBJECT = re.compile(
    r"^\s*auto\s*:|out of (?:the )?office|auto[- ]?reply|automatic reply|auto[- ]?respon[sd]"
    r"|autoresponder"
    r"|automatische antwort|abwesenheitsnotiz|automatische abwesenheit|abwesenheitsmeldung"
    r"|r[ée]ponse automatique|message d'absence|absence du bureau|absent du bureau"
    r"|respuesta autom[áa]tica|fuera de la oficina|fuera de oficina"
    r"|mensaje autom[áa]tico de ausencia"
    r"|risposta automatica|fuori sede|fuori ufficio"
    r"|resposta autom[áa]tica|ausente do escrit[óo]rio|fora do escrit[óo]rio"
    r"|automatisch antwoord|afwezigheidsbericht|buiten kantoor|afwezigheidsmelding"
    r"|自動応答|自動返信|不在通知|不在のお知らせ|自動送信"
    # Chinese, Korean, Russian, Polish, Swedish, Danish/Norwegian, Finnish, Czech, Turkish,
    # Hungarian
    r"|自动回复|自動回覆|自动答复|自動回復|자동\s*응답|자동\s*회신|автоответ|автоматический ответ"
    r"|automatyczna odpowied|odpowied[źz] automatyczna|automatiskt svar|automatisk svar"
    r"|automaattinen vastaus|automatick[áa] odpov[ěe]d|otomatik yan[ıi]t|automatikus v[áa]lasz",
    re.I,
)
#: Weaker subject words (vacation, away, absent ...): enough with an auto-reply header.
_WEAK_SUBJECT = re.compile(
    r"vacation|holiday|away from|away until|on leave|absent|not in the office|\bOOO\b|\bOOF\b"
    r"|urlaub|abwesend|nicht im b[üu]ro|au[ßs]er haus|ferien"
    r"|absence|absente?\b|en cong[ée]|vacances"
    r"|ausente|vacaciones|de vacaciones"
    r"|assente|in ferie|vacanza"
    r"|f[ée]rias|ausência"
    r"|afwezig|vakantie|niet aanwezig"
    r"|不在|休暇|外出|夏季休暇|休假|부재|отпуск|нет на месте|nieobecn|urlop|frånvar|semester"
    r"|fravær|lomalla|poissa|dovolen|nepřítomn|izinde|ofis dışında|szabadság|házon kívül",
    re.I,
)


def _header_marker(msg: Message) -> bool:
    for name in _MARKER_HEADERS:
        value = msg.raw_header(name)
        if value is not None and not _FALSE.match(str(value)):
            return True
    if "vacation" in msg.header("X-Apple-Action").lower():  # iCloud vacation replies
        return True
    precedence = msg.header("Precedence").lower()
    return "auto_reply" in precedence or "auto-reply" in precedence


def is_auto_reply(msg: Message) -> bool:
    """Whether the message is an automatic reply (never true for a delivery failure notice)."""
    if msg.looks_like_bounce:
        return False
    auto_submitted = msg.header("Auto-Submitted").lower()
    subject = msg.subject
    if auto_submitted.startswith("auto-replied") or _header_marker(msg):
        return True
    if _STRONG_SUBJECT.search(subject):
        return True
    # auto-generated covers newsletters and notifications too: require the subject to agree
    generated = bool(auto_submitted) and not auto_submitted.startswith("no")
    if generated or msg.raw_header("X-Auto-Response-Suppress") is not None:
        return bool(_WEAK_SUBJECT.search(subject))
    return False


def extract(msg: Message) -> Extraction:
    """An auto-reply's single delivery (its sender); NOT_MINE for anything else."""
    if not is_auto_reply(msg):
        return NOT_MINE
    recipient = clean_address(msg.header("From")) or clean_address(msg.header("Reply-To"))
    delivery = Delivery(
        recipient=recipient,
        original_message_id=msg.header("In-Reply-To") or None,
        format=NAME,
        hint=Reason.VACATION,
    )
    return Extraction(kind=MessageKind.AUTO_REPLY, deliveries=(delivery,))
