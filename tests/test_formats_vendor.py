"""The vendor and plain-text bounce formats: the facts each extracts, and what each leaves alone."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from returnpath.model import Action, Category, MessageKind, Reason
from returnpath.parsers.classify import classify
from returnpath.parsers.formats import (
    amavis,
    amazonses,
    apachejames,
    domino,
    dragonfly,
    exchange,
    exim,
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
from returnpath.parsers.formats.base import NOT_MINE
from returnpath.parsers.message import Message

VENDOR_MODULES: list[ModuleType] = [
    exim,
    qmail,
    postfix,
    sendmail,
    gmail,
    dragonfly,
    exchange,
    yahoo,
    googlegroups,
    amazonses,
    opensmtpd,
    notes,
    domino,
    mfilter,
    apachejames,
    kddi,
    fml,
    gmx,
    mimecast,
    surfcontrol,
    zoho,
    messagingserver,
    trendmicro,
    amavis,
    mdaemon,
    textbounce,
]


def mail(text: str) -> Message:
    """A Message from a readable literal (leading newline dropped)."""
    return Message(text.lstrip("\n").encode("utf-8"))


HUMAN = """
From: Alice Example <alice@example.com>
To: bob@example.org
Subject: Lunch on Friday?
Message-ID: <lunch-1@example.com>

Hi Bob,

The following addresses are on the invitation list:

  carol@example.net
  dave@example.net

Your note said it could not be delivered to one or more of its recipients:
I'm afraid I wasn't able to deliver your message to the following addresses
either, but all went fine in the end.
See you at noon.
"""

RFC3464 = """
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; user@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--B
Content-Type: message/rfc822

From: sender@example.com
To: user@example.net
Message-ID: <orig-1@example.com>
Subject: hello

hello
--B--
"""


@pytest.mark.parametrize("module", VENDOR_MODULES, ids=lambda m: m.NAME)
def test_leaves_human_mail_alone(module: ModuleType):
    """Scenario: a person's email that mentions addresses in a list is not a bounce of any kind."""
    assert module.extract(mail(HUMAN)) is NOT_MINE


@pytest.mark.parametrize("module", VENDOR_MODULES, ids=lambda m: m.NAME)
def test_leaves_standard_dsn_to_dsn_module(module: ModuleType):
    """Scenario: an RFC 3464 report without vendor wording is left to the dsn format."""
    assert module.extract(mail(RFC3464)) is NOT_MINE


@pytest.mark.parametrize("module", VENDOR_MODULES, ids=lambda m: m.NAME)
def test_never_raises_on_damaged_input(module: ModuleType):
    """Scenario: empty, binary, truncated input and undecodable headers never raise."""
    broken_headers = (
        b"From: =?utf-8?b?Q?= <MAILER-DAEMON@example.org>\nSubject: =?utf-8?b?QUJDx?=\n"
        b"Return-Path: =?utf-8?b?Q?=\nX-Failed-Recipients: =?utf-8?b?Q?=\n\n"
        + EXIM.split("\n\n", 1)[1].encode()
    )
    for raw in (
        b"",
        b"\x00\xff\xfe" * 50,
        b"Subject: x\n\nThis message was created automatically",
        broken_headers,
    ):
        result = module.extract(Message(raw))
        assert result is NOT_MINE or result.kind is not MessageKind.UNKNOWN


# --------------------------------------------------------------------------- exim

EXIM = """
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: sender@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: user@example.net, other@example.net
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  user@example.net
    SMTP error from remote mail server after RCPT TO:<user@example.net>:
    host mx.example.net [192.0.2.10]: 550 5.1.1 <user@example.net>:
    Recipient address rejected: User unknown in local recipient table
  other@example.net
    host mx.example.net [192.0.2.10]
    SMTP error from remote mail server after MAIL FROM:<sender@example.com> SIZE=1234:
    550-Your message was rejected by this system.
    550 Reason: no reverse DNS for your server

------ This is a copy of the message, including all the headers. ------

Return-path: <sender@example.com>
From: sender@example.com
To: user@example.net
Message-Id: <orig-2@example.com>
Subject: hello

hello
"""

EXIM_SENDER_SHOWN = """
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
Subject: Mail delivery failed

This message was created automatically by mail delivery software.

A message sent by

  <sender@example.com>

could not be delivered to one or more of its recipients. The following
address(es) failed:

  user@example.net
    (ultimately generated from alias@example.org)
    retry timeout exceeded
"""

EXIM_DELAYED = """
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
Subject: Warning: message 1abcDE-000123-XY delayed 24 hours

This message was created automatically by mail delivery software.

A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.org.

The message identifier is:     1abcDE-000123-XY

The address to which the message has not yet been delivered is:

  user@example.net
    Delay reason: SMTP error from remote mail server after RCPT TO:<user@example.net>:
    host mx.example.net [192.0.2.10]: 451 4.7.1 Greylisted, try again later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.
"""


def test_exim_failed_recipients_with_multiline_replies():
    """Scenario: Exim lists two failed addresses, one folded reply and one multi-line 550-."""
    result = exim.extract(mail(EXIM))
    assert result.kind is MessageKind.BOUNCE
    first, second = result.deliveries
    assert first.recipient == "user@example.net"
    assert first.action is Action.FAILED
    assert (first.status, first.reply_code, first.remote_mta) == ("5.1.1", "550", "mx.example.net")
    assert first.diagnostic == (
        "550 5.1.1 <user@example.net>: Recipient address rejected: "
        "User unknown in local recipient table"
    )
    assert first.smtp_command == "RCPT"
    assert first.original_message_id == "<orig-2@example.com>"
    assert second.recipient == "other@example.net"
    assert second.diagnostic == (
        "550 Your message was rejected by this system. Reason: no reverse DNS for your server"
    )
    assert second.smtp_command == "MAIL"
    assert second.status is None
    assert first.format == second.format == "exim"


def test_exim_sender_shown_is_not_a_recipient():
    """Scenario: "A message sent by <sender>" lists the sender, which is not a failed address."""
    result = exim.extract(mail(EXIM_SENDER_SHOWN))
    assert [d.recipient for d in result.deliveries] == ["user@example.net"]
    assert result.deliveries[0].diagnostic == "retry timeout exceeded"


def test_exim_delay_warning_is_delayed():
    """Scenario: Exim's "Warning: message ... delayed" yields action delayed with the 451 reply."""
    (only,) = exim.extract(mail(EXIM_DELAYED)).deliveries
    assert only.recipient == "user@example.net"
    assert only.action is Action.DELAYED
    assert (only.status, only.reply_code) == ("4.7.1", "451")
    assert only.diagnostic == "451 4.7.1 Greylisted, try again later"


# --------------------------------------------------------------------------- qmail

QMAIL = """
From: MAILER-DAEMON@mx.example.org
To: sender@example.com
Subject: failure notice

Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<user@example.net>:
192.0.2.10 does not like recipient.
Remote host said: 550 5.1.1 <user@example.net>... User Unknown
Giving up on 192.0.2.10.

<other@example.net>:
Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)

<ldap@example.net>:
Unable to contact LDAP server. (#4.4.3)I'm not going to try again; this
message has been in the queue too long.

<late@example.net>:
Connected to 192.0.2.11 but sender was rejected.
Remote host said: 421 4.7.0 Temporarily deferred due to user complaints
I'm not going to try again; this message has been in the queue too long.

--- Below this line is a copy of the message.

Return-Path: <sender@example.com>
Message-ID: <orig-3@example.com>
From: sender@example.com
To: user@example.net

hello
"""


def test_qmail_blocks_with_remote_reply_and_local_code():
    """Scenario: qmail-send lists a remote 550, local errors and a 421 after it gave up."""
    result = qmail.extract(mail(QMAIL))
    assert result.kind is MessageKind.BOUNCE
    user, other, ldap, late = result.deliveries
    assert (user.recipient, user.status, user.reply_code) == ("user@example.net", "5.1.1", "550")
    assert user.diagnostic == "550 5.1.1 <user@example.net>... User Unknown"
    assert (user.remote_mta, user.smtp_command) == ("192.0.2.10", "RCPT")
    assert user.original_message_id == "<orig-3@example.com>"
    assert (other.recipient, other.status, other.reply_code) == ("other@example.net", "5.4.4", None)
    assert other.diagnostic == "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"
    assert ldap.diagnostic == (
        "Unable to contact LDAP server. (#4.4.3) "
        "I'm not going to try again; this message has been in the queue too long."
    )
    assert late.smtp_command == "MAIL"
    # qmail says it gave up only in its own words, kept after the remote reply for the rules.
    assert late.diagnostic == (
        "421 4.7.0 Temporarily deferred due to user complaints "
        "I'm not going to try again; this message has been in the queue too long."
    )
    assert {d.format for d in result.deliveries} == {"qmail"}


# --------------------------------------------------------------------------- postfix

POSTFIX = """
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: sender@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<user@example.net> (expanded from <alias@example.org>): host
    mx.example.net said: 550-5.1.1 The email account that you tried
    to reach does not exist. 550 5.1.1 Please check the address (in reply to
    RCPT TO command)

<nobody@example.org>: unknown user: "nobody"

--- Below is the returned message (headers only) ---
Message-ID: <orig-4@example.com>
"""

POSTFIX_DELAYED = """
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Delayed Mail (still being retried)

This is the mail system at host mx.example.org.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

                   The mail system

<user@example.net>: connect to mx.example.net[192.0.2.10]:25: Connection timed
    out
"""


def test_postfix_paragraphs_with_expansion_and_local_error():
    """Scenario: Postfix reports a remote 550 for an expanded alias and a local unknown user."""
    result = postfix.extract(mail(POSTFIX))
    remote, local = result.deliveries
    assert remote.recipient == "user@example.net"
    assert (remote.status, remote.reply_code, remote.remote_mta) == (
        "5.1.1",
        "550",
        "mx.example.net",
    )
    assert remote.diagnostic == (
        "550 5.1.1 The email account that you tried to reach does not exist. "
        "Please check the address"
    )
    assert remote.smtp_command == "RCPT"
    assert local.recipient == "nobody@example.org"
    assert local.diagnostic == 'unknown user: "nobody"'
    assert local.action is Action.FAILED
    assert remote.original_message_id == "<orig-4@example.com>"


def test_postfix_delay_warning_is_delayed():
    """Scenario: Postfix's "Delayed Mail (still being retried)" warning yields action delayed."""
    (only,) = postfix.extract(mail(POSTFIX_DELAYED)).deliveries
    assert only.action is Action.DELAYED
    assert only.diagnostic == "connect to mx.example.net[192.0.2.10]:25: Connection timed out"
    assert only.remote_mta == "mx.example.net"


# --------------------------------------------------------------------------- sendmail

SENDMAIL = """
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
To: sender@example.com
Subject: Returned mail: see transcript for details

The original message was received at Thu, 29 Apr 2021 23:34:45 +0900
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<user@example.net>
    (reason: 552-5.7.0 This message was blocked because its content presents a
    potential security issue)
<other@example.net>
    (reason: 550 5.1.1 <other@example.net>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
>>> DATA
<<< 552-5.7.0 This message was blocked because its content presents a potential
<<< 552 5.7.0 security issue.
554 5.0.0 Service unavailable
... while talking to mx2.example.net.:
>>> RCPT To:<other@example.net>
<<< 550 5.1.1 <other@example.net>... User unknown
550 5.1.1 <other@example.net>... User unknown

   ----- Original message follows -----
Message-Id: <orig-5@example.com>
From: sender@example.com
"""

SENDMAIL_V5 = """
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
Subject: Returned mail: User unknown

   ----- Transcript of session follows -----
While talking to relay.example.net:
>>> MAIL From:<sender@example.com>
<<< 550 Insecure Mail Relay
554 <user@example.net>... Remote protocol error
550 <nohost@example.org>... 550 Host unknown (Authoritative answer from name server)
   ----- Unsent message follows -----
From: sender@example.com
"""

SENDMAIL_WARNING = """
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
Subject: Warning: could not send message for past 4 hours

    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

   ----- The following addresses had transient non-fatal errors -----
<user@example.net>

   ----- Transcript of session follows -----
<user@example.net>... Deferred: Connection timed out with mx.example.net.
Warning: message still undelivered after 4 hours
"""


def test_sendmail_list_and_transcript():
    """Scenario: a Sendmail bounce lists two recipients; the transcript has each remote reply."""
    result = sendmail.extract(mail(SENDMAIL))
    by = {d.recipient: d for d in result.deliveries}
    assert set(by) == {"user@example.net", "other@example.net"}
    user = by["user@example.net"]
    assert user.diagnostic == (
        "552 5.7.0 This message was blocked because its content presents a potential "
        "security issue."
    )
    assert (user.status, user.reply_code, user.smtp_command) == ("5.7.0", "552", "DATA")
    assert user.remote_mta == "mx.example.net"
    other = by["other@example.net"]
    assert other.diagnostic == "550 5.1.1 <other@example.net>... User unknown"
    assert (other.remote_mta, other.smtp_command) == ("mx2.example.net", "RCPT")
    assert other.original_message_id == "<orig-5@example.com>"


def test_sendmail_v5_transcript_only():
    """Scenario: old Sendmail gives only a transcript; each summary line names a recipient."""
    result = sendmail.extract(mail(SENDMAIL_V5))
    by = {d.recipient: d for d in result.deliveries}
    assert by["user@example.net"].diagnostic == "550 Insecure Mail Relay"
    assert by["user@example.net"].smtp_command == "MAIL"
    assert by["nohost@example.org"].diagnostic == (
        "550 Host unknown (Authoritative answer from name server)"
    )
    assert by["nohost@example.org"].reply_code == "550"


SENDMAIL_V5_HOST = """
From: Mail Delivery Subsystem <MAILER-DAEMON@example.com>
To: sender@example.org
Subject: Returned mail: Cannot send message for 4 days

   ----- Transcript of session follows -----
421 example.net (smtp)... Deferred: Connection timed out during user open with example.net

   ----- Unsent message follows -----
Received: by mx.example.org; id 0000000
From: sender@example.org
To: user@example.net, other@example.com
Subject: hello

hello
"""


def test_sendmail_v5_host_failure_names_the_originals_recipients_there():
    """Scenario: old Sendmail gave up on a host without naming an address: the original's
    recipients at that host failed, and the Subject says after how long (an expiry)."""
    (only,) = sendmail.extract(mail(SENDMAIL_V5_HOST)).deliveries
    assert only.recipient == "user@example.net"
    assert only.action is Action.FAILED
    assert only.diagnostic is not None
    assert only.diagnostic.startswith("421 example.net (smtp)... Deferred: Connection timed out")
    assert only.diagnostic.endswith("(Cannot send message for 4 days)")
    verdict = classify(only)
    assert (verdict.category, verdict.reason) == (Category.SOFT, Reason.EXPIRED)


def test_sendmail_v5_host_failure_at_an_mx_host():
    """Scenario: the failed host is the recipient domain's MX ("mx.example.net" for
    user@example.net): the original's recipient there failed."""
    notice = SENDMAIL_V5_HOST.replace("421 example.net (smtp)", "421 mx.example.net (smtp)")
    (only,) = sendmail.extract(mail(notice)).deliveries
    assert only.recipient == "user@example.net"


def test_sendmail_warning_is_delayed():
    """Scenario: "Warning: could not send message for past 4 hours" is a delay, not a failure."""
    (only,) = sendmail.extract(mail(SENDMAIL_WARNING)).deliveries
    assert only.recipient == "user@example.net"
    assert only.action is Action.DELAYED
    assert only.diagnostic == "Deferred: Connection timed out with mx.example.net."


# --------------------------------------------------------------------------- gmail

GMAIL = """
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: sender@example.com
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: user@example.net

Delivery to the following recipients failed permanently:

     user@example.net
     other@example.net

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the recipient
domain. We recommend contacting the other email provider for further
information about the cause of this error. The error that the other server
returned was: 550 550 5.1.1 <user@example.net>: user unknown (state 14).

----- Original message -----

Message-ID: <orig-6@mail.example.com>
From: sender@example.com
"""

GMAIL_DELAYED = """
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
Subject: Delivery Status Notification (Delay)

This is an automatically generated Delivery Status Notification

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     user@example.net

Message will be retried for 2 more day(s)

Technical details of temporary failure:
The recipient server did not accept our requests to connect.
[(0) mx.example.net. [192.0.2.10]:25: socket error]
"""


def test_gmail_failed_permanently_two_recipients():
    """Scenario: an old Gmail bounce lists two recipients and quotes the remote 550 reply."""
    result = gmail.extract(mail(GMAIL))
    assert [d.recipient for d in result.deliveries] == ["user@example.net", "other@example.net"]
    first = result.deliveries[0]
    assert first.action is Action.FAILED
    assert first.diagnostic == "550 5.1.1 <user@example.net>: user unknown"
    assert (first.status, first.reply_code) == ("5.1.1", "550")
    assert first.original_message_id == "<orig-6@mail.example.com>"


def test_gmail_delay_warning():
    """Scenario: Gmail's "has been delayed" warning is a delay with the connection error."""
    (only,) = gmail.extract(mail(GMAIL_DELAYED)).deliveries
    assert only.action is Action.DELAYED
    assert only.remote_mta == "mx.example.net"
    assert only.diagnostic is not None
    assert only.diagnostic.startswith("The recipient server did not accept our requests")


GMAIL_SEND_MAIL_AS = """
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: sender@example.com
X-Failed-Recipients: list@example.net
Subject: Delivery Status Notification (Failure)
Content-Type: text/plain; charset="UTF-8"

** Message not delivered **

You're sending this from a different address or alias using the 'Send mail as' feature. The
settings for your 'Send mail as' account are misconfigured or out of date. Check those settings
and try resending.

The response was:

Unspecified Error (SENT_SECOND_EHLO): Smtp server does not advertise AUTH capability
"""


def test_gmail_modern_notice_keeps_googles_explanation():
    """Scenario: Google's explanation follows the remote reply in the diagnostic, so a refused
    'Send mail as' address (the sender's own setup) reads as a sender refusal."""
    (only,) = gmail.extract(mail(GMAIL_SEND_MAIL_AS)).deliveries
    assert only.recipient == "list@example.net"
    assert only.diagnostic is not None
    assert only.diagnostic.startswith("Unspecified Error (SENT_SECOND_EHLO)")
    assert "'Send mail as' feature" in only.diagnostic
    verdict = classify(only)
    assert (verdict.category, verdict.reason) == (Category.BLOCK, Reason.REJECTED)


# --------------------------------------------------------------------------- dragonfly

DRAGONFLY = """
From: MAILER-DAEMON <>
To: sender@example.com
Subject: Mail delivery failed

This is the DragonFly Mail Agent v0.13 at mx.example.org.

There was an error delivering your mail to <user@example.net>.

mx.example.net [192.0.2.10] did not like our RCPT TO:
550 5.1.1 <user@example.net>: Recipient address rejected: User unknown

Message headers follow.

Message-Id: <orig-7@mx.example.org>
From: <sender@example.com>
"""


def test_dragonfly_single_recipient():
    """Scenario: dma reports the remote reply to RCPT TO for its one recipient."""
    (only,) = dragonfly.extract(mail(DRAGONFLY)).deliveries
    assert only.recipient == "user@example.net"
    assert (
        only.diagnostic == "550 5.1.1 <user@example.net>: Recipient address rejected: User unknown"
    )
    assert (only.remote_mta, only.smtp_command, only.status) == ("mx.example.net", "RCPT", "5.1.1")
    assert only.original_message_id == "<orig-7@mx.example.org>"


# --------------------------------------------------------------------------- exchange

OFFICE365 = """
From: postmaster@example.onmicrosoft.com
To: sender@example.com
Subject: Undeliverable: hello
Content-Type: text/plain; charset="utf-8"

Delivery has failed to these recipients or groups:

user@example.net<mailto:user@example.net>
The email address you entered couldn't be found. Check the recipient's email
address then try to resend the message.

Diagnostic information for administrators:

Generating server: MBX01.example.prod.outlook.com

user@example.net
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'

Original message headers:

Message-ID: <orig-8@example.com>
From: <sender@example.com>
"""

EXCHANGE_ITALIAN = """
From: <postmaster@example.it>
Subject: Non recapitabile: ciao
Content-Type: text/plain; charset="utf-8"

Il recapito non è riuscito per i seguenti destinatari o gruppi:

Utente<mailto:utente@example.it>
La cassetta postale del destinatario è piena.

Informazioni di diagnostica per gli amministratori:

Server di generazione: mx.example.it

utente@example.it
#552 5.2.2 STOREDRV.Deliver; mailbox full ##

Intestazioni originali del messaggio:

Message-ID: <orig-9@example.com>
"""

EXCHANGE_2003 = """
From: System Administrator <postmaster@example.org>
To: sender@example.com
Subject: Undeliverable: hello

Your message

  To:      user@example.org
  Subject: hello
  Sent:    Thu, 29 Apr 2010 00:00:00 -0000

did not reach the following recipient(s):

user@example.org on Thu, 29 Apr 2010 00:00:00 -0000
    The recipient name is not recognized
    The MTS-ID of the original message is: c=us;a= ;p=example;l=MBX0104290000
    MSEXCH:IMS:EXAMPLE:SITE:MBX01 0 (000C05A6) Unknown Recipient
"""


def test_office365_ndr_takes_the_remote_reply():
    """Scenario: an Office 365 NDR: the diagnostic comes from "Remote Server returned"."""
    (only,) = exchange.extract(mail(OFFICE365)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"
    assert (only.status, only.reply_code, only.action) == ("5.1.1", "550", Action.FAILED)
    assert only.original_message_id == "<orig-8@example.com>"


def test_exchange_italian_ndr_with_hash_reply():
    """Scenario: an Italian Exchange 2007 NDR with the "#552 ... ##" reply form."""
    (only,) = exchange.extract(mail(EXCHANGE_ITALIAN)).deliveries
    assert only.recipient == "utente@example.it"
    assert only.diagnostic == "552 5.2.2 STOREDRV.Deliver; mailbox full"
    assert only.original_message_id == "<orig-9@example.com>"


def test_exchange_2003_recipient_on_date():
    """Scenario: Exchange 2003 lists "user on DATE" with the reason indented below."""
    (only,) = exchange.extract(mail(EXCHANGE_2003)).deliveries
    assert only.recipient == "user@example.org"
    assert only.diagnostic is not None
    assert only.diagnostic.startswith("The recipient name is not recognized")


# --------------------------------------------------------------------------- yahoo

YAHOO = """
From: MAILER-DAEMON@yahoo.com
To: sender@yahoo.com
Subject: Failure Notice

Sorry, we were unable to deliver your message to the following address.

<user@example.net>:
Remote host said: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown [RCPT_TO]

<other@example.net>:
552: Mailbox full

--- Below this line is a copy of the message.

Message-ID: <orig-10@yahoo.com>
"""


def test_yahoo_blocks_with_stage_tag():
    """Scenario: Yahoo lists two failures, one with "Remote host said" and an [RCPT_TO] tag."""
    user, other = yahoo.extract(mail(YAHOO)).deliveries
    assert (
        user.diagnostic == "550 5.1.1 <user@example.net>: Recipient address rejected: User unknown"
    )
    assert (user.smtp_command, user.status, user.reply_code) == ("RCPT", "5.1.1", "550")
    assert (other.recipient, other.diagnostic, other.reply_code) == (
        "other@example.net",
        "552 Mailbox full",
        "552",
    )
    assert other.original_message_id == "<orig-10@yahoo.com>"


# --------------------------------------------------------------------------- googlegroups

GOOGLEGROUPS = """
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: sender@example.com
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: somegroup@googlegroups.com

Hello sender@example.com,

We're writing to let you know that the group you tried to contact (somegroup) may not exist,
or you may not have permission to post messages to the group.

If you have questions related to this or any other Google group, visit the Help Centre at
https://groups.google.com/support/.

Thanks,

Google Groups

----- Original message -----

Message-ID: <orig-11@example.com>
"""


def test_googlegroups_group_address_from_header():
    """Scenario: a Google Groups rejection names the group in X-Failed-Recipients only."""
    (only,) = googlegroups.extract(mail(GOOGLEGROUPS)).deliveries
    assert only.recipient == "somegroup@googlegroups.com"
    assert only.diagnostic is not None
    assert "may not have permission to post" in only.diagnostic
    assert "groups.google.com" in only.diagnostic
    assert "sender@example.com" not in only.diagnostic
    assert only.hint is Reason.REJECTED
    assert only.original_message_id == "<orig-11@example.com>"


# --------------------------------------------------------------------------- amazonses

SES_MESSAGE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bouncedRecipients": [
            {
                "emailAddress": "user@example.net",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
    },
    "mail": {"headers": [{"name": "Message-ID", "value": "<orig-12@example.com>"}]},
}
SES_ENVELOPE = json.dumps({"Type": "Notification", "Message": json.dumps(SES_MESSAGE)}, indent=2)
SES_BOUNCE = f"""
From: SES Notifications <no-reply@sns.amazonaws.com>
To: ops@example.com
Subject: AWS Notification Message

{SES_ENVELOPE}
--
If you wish to stop receiving notifications from this topic, please click the link below.
"""

SES_COMPLAINT = """
From: SES Notifications <no-reply@sns.amazonaws.com>
Subject: AWS Notification Message

{"notificationType": "Complaint", "mail": {},
 "complaint": {"complainedRecipients": [{"emailAddress": "user@example.net"}],
               "complaintFeedbackType": "abuse"}}
"""

SES_DELIVERY = """
From: SES Notifications <no-reply@sns.amazonaws.com>
Subject: AWS Notification Message

{"notificationType": "Delivery", "mail": {},
 "delivery": {"recipients": ["user@example.net"], "smtpResponse": "250 2.6.0 Message received"}}
"""


def test_amazonses_bounce_inside_sns_envelope():
    """Scenario: an SES bounce notification wrapped in an SNS envelope, as forwarded by email."""
    result = amazonses.extract(mail(SES_BOUNCE))
    (only,) = result.deliveries
    assert result.kind is MessageKind.BOUNCE
    assert (only.recipient, only.action, only.status) == (
        "user@example.net",
        Action.FAILED,
        "5.1.1",
    )
    assert (only.diagnostic, only.reply_code) == ("550 5.1.1 user unknown", "550")
    assert only.original_message_id == "<orig-12@example.com>"


def test_amazonses_complaint_and_delivery():
    """Scenario: SES complaint and delivery notifications are a complaint and a delivery."""
    complaint = amazonses.extract(mail(SES_COMPLAINT))
    assert complaint.kind is MessageKind.FEEDBACK
    assert complaint.deliveries[0].feedback_type == "abuse"
    assert complaint.deliveries[0].hint is Reason.FEEDBACK
    event = amazonses.extract(mail(SES_COMPLAINT.replace('"notificationType"', '"eventType"')))
    assert event.kind is MessageKind.FEEDBACK
    delivered = amazonses.extract(mail(SES_DELIVERY))
    assert delivered.deliveries[0].action is Action.DELIVERED
    assert delivered.deliveries[0].status == "2.6.0"


# --------------------------------------------------------------------------- opensmtpd

OPENSMTPD = """
From: Mailer Daemon <MAILER-DAEMON@mx.example.org>
To: sender@example.com
Subject: Delivery status notification: error

    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

user@example.net: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown
nohost@example.invalid: Domain does not exist

    Below is a copy of the original message:

Message-ID: <orig-13@example.com>
"""

OPENSMTPD_DELAYED = """
From: Mailer Daemon <MAILER-DAEMON@mx.example.org>
Subject: Delivery status notification: warning

    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

    A message is delayed for more than 4 hours for the following
    list of recipients:

user@example.net: Network error on destination MXs

    Please note that this is only a temporary failure report.
"""


def test_opensmtpd_recipient_lines():
    """Scenario: OpenSMTPD lists "address: reason" lines, a remote reply and a local error."""
    user, nohost = opensmtpd.extract(mail(OPENSMTPD)).deliveries
    assert (user.recipient, user.status, user.reply_code) == ("user@example.net", "5.1.1", "550")
    assert nohost.diagnostic == "Domain does not exist"
    assert nohost.action is Action.FAILED
    assert user.original_message_id == "<orig-13@example.com>"


def test_opensmtpd_delay_warning():
    """Scenario: OpenSMTPD's "temporary failure report" is a delay."""
    (only,) = opensmtpd.extract(mail(OPENSMTPD_DELAYED)).deliveries
    assert (only.action, only.diagnostic) == (Action.DELAYED, "Network error on destination MXs")


# --------------------------------------------------------------------------- notes, domino

NOTES = """
From: postmaster@notes.example.org
Subject: Undeliverable message

------- Failure Reasons  --------

User not listed in public Name & Address Book
user@example.org

------- Returned Message --------
Message-ID: <orig-14@example.com>
"""

DOMINO = """
From: Postmaster@example.org
Subject: DELIVERY FAILURE: User Some Name (user@example.org) not listed in Domino Directory

Your message

  Subject: hello

was not delivered to:

  user@example.org

because:

  User Some Name (user@example.org) not listed in Domino Directory
"""


def test_notes_failure_reasons_section():
    """Scenario: Lotus Notes gives the reason first, then the address, in its own section."""
    (only,) = notes.extract(mail(NOTES)).deliveries
    assert only.recipient == "user@example.org"
    assert only.diagnostic == "User not listed in public Name & Address Book"
    assert only.original_message_id == "<orig-14@example.com>"


def test_domino_not_delivered_because():
    """Scenario: Domino's "was not delivered to: ... because: ..." report."""
    (only,) = domino.extract(mail(DOMINO)).deliveries
    assert only.recipient == "user@example.org"
    assert only.diagnostic == "User Some Name (user@example.org) not listed in Domino Directory"


# --------------------------------------------------------------------------- mfilter

MFILTER = """
From: POSTMASTER <postmaster@example.org>
Subject: failure notice
Content-Type: text/plain; charset="utf-8"

このメールは「m-FILTER」が自動的に生成して送信しています。
以下のメールアドレスへの送信に失敗しました。
user@example.net

-------server message
550 5.1.1 unknown user <user@example.net>

-------SMTP command
RCPT TO:<user@example.net>

-------original message
Message-ID: <orig-15@example.com>
"""


def test_mfilter_server_message_and_command():
    """Scenario: m-FILTER gives the remote reply and the SMTP command in their own sections."""
    (only,) = mfilter.extract(mail(MFILTER)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 unknown user <user@example.net>"
    assert (only.smtp_command, only.status) == ("RCPT", "5.1.1")
    assert only.original_message_id == "<orig-15@example.com>"


EXIM_LOCAL = """
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  save to /var/mail/example.org/user
    generated by user@example.org
    mailbox is full: retry timeout exceeded
"""


def test_exim_local_delivery_takes_generated_by_address():
    """Scenario: Exim's failed local delivery ("save to /path") names the user on a later line."""
    (only,) = exim.extract(mail(EXIM_LOCAL)).deliveries
    assert only.recipient == "user@example.org"
    assert only.diagnostic == "mailbox is full: retry timeout exceeded"


QMAIL_ISP = """
From: MAILER-DAEMON@example.net
Subject: Delivery failure

Message from example.net.
Unable to deliver message to the following address(es).

<user@example.net>:
Sorry, your message to user@example.net cannot be delivered. This account is over quota.

--- Original message follows.
"""


def test_qmail_based_isp_relay():
    """Scenario: a qmail-based ISP relay uses its own opening line with qmail's blocks."""
    (only,) = qmail.extract(mail(QMAIL_ISP)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == (
        "Sorry, your message to user@example.net cannot be delivered. This account is over quota."
    )


# --------------------------------------------------------------------------- textbounce

APPLIANCE = """
From: Mail Delivery System <MAILER-DAEMON@relay.example.org>
To: sender@example.com
Subject: Mail delivery failed

This message was created by the relay.

The following address failed:

  <user@example.net>: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown

Included is a copy of the message header:
-----------------------------------------
Received: from unknown by relay.example.org
Message-Id: <orig-16@example.com>
To: user@example.net
"""

APPLIANCE_REASON_BELOW = """
From: "Postmaster" <postmaster@example.org>
To: sender@example.com
Subject: Undeliverable Mail

The following address failed:

other@example.net

For the following reason:

Mail size limit exceeded.

Original message follows.

To: other@example.net
"""

NOT_FROM_A_MAIL_SYSTEM = """
From: Alice Example <alice@example.com>
To: bob@example.org
Subject: Re: Undeliverable mail to carol@example.net

Carol's address carol@example.net gave 550 User unknown, do you have another one?
"""


def test_textbounce_reply_after_address():
    """Scenario: an unnamed relay's bounce: recipient and SMTP reply on one line."""
    (only,) = textbounce.extract(mail(APPLIANCE)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == (
        "550 5.1.1 <user@example.net>: Recipient address rejected: User unknown"
    )
    assert (only.status, only.reply_code) == ("5.1.1", "550")
    assert only.original_message_id == "<orig-16@example.com>"


def test_textbounce_notice_that_keeps_trying_is_a_delay():
    """Scenario: an appliance's notice saying "Delivery attempts will continue" is a delay,
    not a failure, whatever its Subject."""
    notice = (
        "From: Mail Delivery System <postmaster@relay.example.org>\n"
        "Subject: Delivery Status Notification\n\n"
        "Your message could not be delivered yet to:\n\n"
        "user@example.net: 451 4.7.1 Greylisted, try again later\n\n"
        "Delivery attempts will continue to be made for 2 days.\n"
    )
    (only,) = textbounce.extract(mail(notice)).deliveries
    assert only.recipient == "user@example.net"
    assert only.action is Action.DELAYED


def test_textbounce_reason_on_following_lines():
    """Scenario: the address stands alone; the reason follows under "For the following reason:"."""
    (only,) = textbounce.extract(mail(APPLIANCE_REASON_BELOW)).deliveries
    assert only.recipient == "other@example.net"
    assert only.diagnostic == "For the following reason: Mail size limit exceeded."


RELAYED = """
From: Mail Delivery System <MAILER-DAEMON@relay.example.org>
To: sender@example.com
Subject: Delivery Status Notification (Relay)

This is an automatically generated Delivery Status Notification.

Your message has been successfully relayed to the following recipients, but the requested
delivery status notifications may not be generated by the destination.

    user@example.net
"""


def test_textbounce_ignores_positive_notifications():
    """Scenario: a relay notice names the recipient, but nothing failed."""
    assert textbounce.extract(mail(RELAYED)) is NOT_MINE
    delivered = RELAYED.replace("(Relay)", "").replace(
        "Your message has been successfully relayed", "Your message was delivered successfully"
    )
    assert textbounce.extract(mail(delivered)) is NOT_MINE


def test_textbounce_ignores_people_discussing_bounces():
    """Scenario: a person forwarding news of a bounce is not a mail system's bounce."""
    assert textbounce.extract(mail(NOT_FROM_A_MAIL_SYSTEM)) is NOT_MINE


# ----------------------------------------------- postfix smtpd, apachejames, kddi

POSTFIX_SMTPD = """
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: postmaster@mx.example.org
Subject: Postfix SMTP server: errors from client.example.net[192.0.2.20]

Transcript of session follows.

 Out: 220 mx.example.org ESMTP
 In:  EHLO client.example.net
 Out: 250 mx.example.org
 In:  MAIL FROM:<sender@example.com>
 Out: 250 2.1.0 Ok
 In:  RCPT TO:<user@example.org>
 Out: 250 2.1.5 Ok
 In:  DATA
 Out: 354 End data with <CR><LF>.<CR><LF>
 Out: 451 4.3.0 Error: queue file write error
"""

VERIZON = """
From: post_master@vtext.com
To: sender@example.com
Subject: Re: hello

Error: Invalid user address

Error message below:
550 - Requested action not taken: no such user here

Message details:
  Subject: hello
  MAIL FROM: sender@example.com
  RCPT TO: 5551234567@vtext.com
"""

KDDI = """
From: no-reply@example.dion.ne.jp
Subject: Mail delivery error

Your mail sent on: Thu, 29 Apr 2013 23:45:22 +0900
     Could not be delivered to: <user@example.dion.ne.jp>
     As their mailbox is full.
"""


def test_postfix_smtpd_transcript_to_postmaster():
    """Scenario: Postfix's postmaster notice of a failed inbound session gives RCPT and reply."""
    (only,) = postfix.extract(mail(POSTFIX_SMTPD)).deliveries
    assert only.recipient == "user@example.org"
    assert only.diagnostic == "451 4.3.0 Error: queue file write error"
    assert (only.status, only.smtp_command) == ("4.3.0", "DATA")


def test_apachejames_verizon_gateway_error():
    """Scenario: Apache James (Verizon's gateway) names the recipient in "RCPT TO:"."""
    (only,) = apachejames.extract(mail(VERIZON)).deliveries
    assert only.recipient == "5551234567@vtext.com"
    assert only.diagnostic == "550 Requested action not taken: no such user here"


def test_kddi_could_not_be_delivered():
    """Scenario: au one net gives the recipient and the reason on the next line."""
    (only,) = kddi.extract(mail(KDDI)).deliveries
    assert (only.recipient, only.diagnostic) == (
        "user@example.dion.ne.jp",
        "As their mailbox is full.",
    )


def test_damaged_mime_still_read():
    """Scenario: a folded boundary parameter hides every MIME part; the raw body is read instead."""
    broken = VERIZON.replace(
        "Subject: Re: hello\n",
        'Subject: Re: hello\nContent-Type: multipart/alternative;\nboundary="XX"\n',
    )
    (only,) = apachejames.extract(mail(broken)).deliveries
    assert only.recipient == "5551234567@vtext.com"


POSTFIX_NO_REPORT = """
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

\t--- Delivery report unavailable ---

--B
Content-Type: message/rfc822

From: sender@example.com
To: user@example.net
Message-Id: <orig-17@example.com>

hello
--B--
"""


def test_postfix_without_report_uses_single_original_recipient():
    """Scenario: Postfix says its report is unavailable; the original had one recipient."""
    (only,) = postfix.extract(mail(POSTFIX_NO_REPORT)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic is None
    assert only.original_message_id == "<orig-17@example.com>"
    two = POSTFIX_NO_REPORT.replace("To: user@example.net", "To: user@example.net, b@example.net")
    assert postfix.extract(mail(two)) is NOT_MINE


# --------------------------------------------------------------------------- fml

FML = """
From: list-admin@example.org
To: sender@example.com
Subject: You sender@example.com are not member (list ML)
X-MLServer: fml [fml 4.0.3 release]

You are not a member of this mailing list <list@example.org>.

If you know the general guide of this list, please send mail with the body "guide".
"""


def test_fml_refusal_names_the_list():
    """Scenario: fml refuses a post from a non-member; the list address is the recipient."""
    (only,) = fml.extract(mail(FML)).deliveries
    assert only.recipient == "list@example.org"
    assert only.diagnostic == "You are not a member of this mailing list <list@example.org>."


OFFICE365_NEW = """
From: postmaster@example.onmicrosoft.com
Subject: Undeliverable: hello
Content-Type: text/plain; charset="utf-8"

Your message to user@example.net couldn't be delivered.

user wasn't found at example.net.

More Info for Email Admins
Status code: 550 5.1.10

Original Message Details
Created Date:   4/29/2017 11:23:34 PM
Sender Address: sender@example.com
Recipient Address:      user@example.net
Subject:        hello

Error Details
Reported error: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found by SMTP address lookup
DSN generated by:       MBX01.example.prod.outlook.com

Original Message Headers
Message-ID: <orig-18@example.com>
"""

EXCHANGE_2003_GERMAN = """
From: Systemadministrator <postmaster@example.de>
Subject: Unzustellbar: hallo

Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.

      Betreff:  hallo

benutzer@example.de am 29.04.2010 10:00
            Der E-Mail-Account existiert nicht in der Organisation.
            <mx.example.de #5.1.1>
"""


def test_office365_newer_report_details():
    """Scenario: Office 365's newer NDR gives "Recipient Address" and "Reported error"."""
    (only,) = exchange.extract(mail(OFFICE365_NEW)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == (
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found by SMTP address lookup"
    )
    assert (only.status, only.remote_mta) == ("5.1.10", "MBX01.example.prod.outlook.com")
    assert only.original_message_id == "<orig-18@example.com>"


def test_exchange_2003_german():
    """Scenario: a German Exchange 2003 NDR ("am DATE") with the status code in the reason."""
    (only,) = exchange.extract(mail(EXCHANGE_2003_GERMAN)).deliveries
    assert only.recipient == "benutzer@example.de"
    assert only.status == "5.1.1"


APPLIANCE_WITH_NOISE = """
From: Mail Delivery System <MAILER-DAEMON@relay.example.org>
To: sender@example.com
Subject: Undeliverable: hello

Your message

  Message-ID: <abc-123@example.com>
  From: Sender <sender@example.com>

could not be delivered to the following recipient:

  user@example.net (expanded from alias@example.org): mailbox unavailable

For assistance please contact helpdesk@example.org.
"""


def test_textbounce_skips_quoted_headers_aliases_and_help_addresses():
    """Scenario: message ids, the alias expanded from and a help address are not failures."""
    result = textbounce.extract(mail(APPLIANCE_WITH_NOISE))
    assert [d.recipient for d in result.deliveries] == ["user@example.net"]


# --------------------------------------------------------------------------- gmx, mimecast

GMX = """
From: "Mail Delivery System" <mailer-daemon@gmx.net>
To: sender@gmx.net
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address
failed:

"user@example.net":

SMTP error from remote server after RCPT command:
host: mx.example.net
550 5.1.1 <user@example.net>... User Unknown

--- The header of the original message is following. ---

Message-ID: <orig-19@gmx.net>
"""

MIMECAST = """
From: Postmaster <postmaster@example.com>
Subject: [Postmaster] Email Delivery Failure

This is a delivery failure notification message indicating that
an email you addressed to email address :

-- user@example.net

could not be delivered. The problem appears to be :

-- Recipient email address is possibly incorrect

Additional information follows :

-- 5.7.54 SMTP; Unable to relay recipient in non-accepted domain
"""


def test_gmx_quoted_address_with_remote_reply():
    """Scenario: GMX quotes the address at the margin and gives host and reply below it."""
    (only,) = gmx.extract(mail(GMX)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 <user@example.net>... User Unknown"
    assert (only.remote_mta, only.smtp_command) == ("mx.example.net", "RCPT")
    assert only.original_message_id == "<orig-19@gmx.net>"


def test_mimecast_additional_information():
    """Scenario: Mimecast's notice: the remote reply is under "Additional information follows"."""
    (only,) = mimecast.extract(mail(MIMECAST)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
    assert only.status == "5.7.54"


SENDMAIL_DERIVED = """
From: postmaster@mail.example.ne.jp
Subject: Returned mail: see transcript for details

   ----- The following addresses had delivery problems -----
********************
 user@example.net
********************

   ----- Non-delivered information -----
The number of messages in recipient's mailbox exceeded the local limit.

   ----- Unsent message follows -----
Message-ID: <orig-20@example.com>
"""


def test_sendmail_derived_relay_with_non_delivered_information():
    """Scenario: a Sendmail-derived ISP relay lists the address and gives the reason apart."""
    (only,) = sendmail.extract(mail(SENDMAIL_DERIVED)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == (
        "The number of messages in recipient's mailbox exceeded the local limit."
    )
    assert only.original_message_id == "<orig-20@example.com>"


def test_exim_pipelined_rcpt():
    """Scenario: Exim's "after pipelined RCPT TO" context still yields the bare reply."""
    pipelined = EXIM.replace(
        "after RCPT TO:<user@example.net>", "after pipelined RCPT TO:<user@example.net>"
    )
    first = exim.extract(mail(pipelined)).deliveries[0]
    assert first.diagnostic is not None
    assert first.diagnostic.startswith("550 5.1.1 <user@example.net>: Recipient address rejected")
    assert first.smtp_command == "RCPT"


# --------------------------------------------------------------------------- surfcontrol

SURFCONTROL = """
From: <MAILER-DAEMON@example.org>
Subject: hello

Your message could not be sent.
A transcript of the attempts to send the message follows.
The number of attempts made: 1
Addressed To: user@example.net

Thu 29 Apr 2010 23:34:45 +0900
Failed to send to identified host,
user@example.net: [192.0.2.5], 550 user@example.net... No such user
--- Message non-deliverable.
"""

MAILMARSHAL_LIKE = """
From: Mail Delivery System <postmaster@relay.example.org>
Subject: Undeliverable Mail: "hello"

Your message:
   From:    sender@example.com
   Subject: hello

Could not be delivered because of

550 5.1.1 User unknown

The following recipients were affected:
    user@example.net
"""


def test_surfcontrol_transcript_line():
    """Scenario: SurfControl gives "address: [IP], reply" in its transcript of attempts."""
    (only,) = surfcontrol.extract(mail(SURFCONTROL)).deliveries
    assert (only.recipient, only.remote_mta) == ("user@example.net", "192.0.2.5")
    assert only.diagnostic == "550 user@example.net... No such user"


def test_textbounce_reply_before_the_recipient_list():
    """Scenario: the reply is given above "The following recipients were affected:"."""
    (only,) = textbounce.extract(mail(MAILMARSHAL_LIKE)).deliveries
    assert only.recipient == "user@example.net"
    assert (only.diagnostic, only.status) == ("550 5.1.1 User unknown", "5.1.1")


def test_textbounce_section_heading_after_the_list_is_not_the_reason():
    """Scenario: MailMarshal follows the recipient list with an "Additional Information"
    section (a heading over "====="): the reason is still the reply above the list."""
    notice = MAILMARSHAL_LIKE + (
        "\n\n\nAdditional Information\n======================\n"
        "Original Sender:    <sender@example.com>\nReporting-MTA:      <relay.example.org>\n"
    )
    (only,) = textbounce.extract(mail(notice)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 User unknown"


# --------------------------------------------------------------------------- zoho, mxlogic

ZOHO = """
From: mailer-daemon@mail.zoho.com
To: sender@zoho.example.com
Subject: Undelivered Mail Returned to Sender

This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients.

user@example.net Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 <user@example.net>... No user
slow@example.org Error, ERROR_CODE :421, ERROR_CODE :, Host not reachable.

Received:from mail.zoho.example.com by mx.zohomail.com
Message-ID:<orig-21@zoho.example.com>
"""

MXLOGIC = """
From: Mail Delivery System <MAILER-DAEMON@relay.example.net>
Subject: Mail delivery failed

This message was created automatically by mail delivery software.

A message that you have sent could not be delivered to one or more
recipients.  This is a permanent error.  The following address failed:

  <user@example.net>: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown

Included is a copy of the message header:
-----------------------------------------
Message-Id: <orig-22@example.com>
"""


def test_zoho_error_code_lines():
    """Scenario: Zoho writes "address summary, ERROR_CODE :550, ERROR_CODE :reply" lines."""
    user, slow = zoho.extract(mail(ZOHO)).deliveries
    assert user.recipient == "user@example.net"
    assert user.diagnostic == "550 5.1.1 <user@example.net>... No user"
    assert (user.status, user.reply_code) == ("5.1.1", "550")
    assert (slow.diagnostic, slow.reply_code) == ("421 Host not reachable.", "421")
    assert user.original_message_id == "<orig-21@zoho.example.com>"


def test_exim_based_relay_reply_on_the_address_line():
    """Scenario: an Exim-based relay puts "<address>: reply" on one line."""
    (only,) = exim.extract(mail(MXLOGIC)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == (
        "550 5.1.1 <user@example.net>: Recipient address rejected: User unknown"
    )
    assert only.original_message_id == "<orig-22@example.com>"


# --------------------------------------------------------------------------- messagingserver

MESSAGINGSERVER = """
From: postmaster@mail.example.org
Subject: Delivery Notification: Delivery has failed

This report relates to a message you sent with the following header fields:

  Message-id: <orig-23@example.com>
  From: Sender <sender@example.com>
  To: user@example.net

Your message cannot be delivered to the following recipients:

  Recipient address: user@example.net
  Reason: Remote SMTP server has rejected address
  Diagnostic code: smtp;550 5.2.2 <user@example.net>... Mailbox Full
  Remote system: dns;mx.example.net (TCP|192.0.2.1|48044|192.0.2.2|25) (mx.example.net ESMTP)
"""


def test_messagingserver_fields():
    """Scenario: Messaging Server's text names the recipient, the diagnostic code and the MX."""
    (only,) = messagingserver.extract(mail(MESSAGINGSERVER)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.2.2 <user@example.net>... Mailbox Full"
    assert (only.remote_mta, only.status) == ("mx.example.net", "5.2.2")
    assert only.original_message_id == "<orig-23@example.com>"


# --------------------------------------------------------------------------- trendmicro

INTERSCAN = """
From: postmaster@mail.example.org
Subject: =?utf-8?b?6YWN5L+h44Gn44GN44G+44Gb44KT44Gn44GX44Gf?=
Content-Type: text/plain; charset="utf-8"

Sent <<< MAIL FROM:<sender@example.com>
Received >>> 250 2.1.0 Sender ok
Sent <<< RCPT TO:<user@example.net>
Received >>> 550 5.1.1 <user@example.net>... User unknown
"""


def test_trendmicro_transcript():
    """Scenario: InterScan's "Sent <<<" / "Received >>>" transcript under a Japanese Subject."""
    (only,) = trendmicro.extract(mail(INTERSCAN)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 <user@example.net>... User unknown"
    assert only.smtp_command == "RCPT"


# --------------------------------------------------------------------------- amavis

AMAVIS_BANNED = """
From: "Content-filter at mail.example.org" <postmaster@mail.example.org>
To: sender@example.com
Subject: BANNED contents from you (.exe,invoice.exe)
Content-Type: text/plain; charset="UTF-8"

BANNED CONTENTS ALERT

Our content checker found
    banned name: .exe,invoice.exe

in email presumably from you <sender@example.com>
to the following recipients:
-> user@example.net
-> other@example.net

Our internal reference code for your message is 12345-02/bwmq2JzNqE8K.
"""

AMAVIS_REPLIES = """
From: "Content-filter at mail.example.org" <postmaster@mail.example.org>
To: sender@example.com
Subject: Undeliverable mail, invalid characters in header
Content-Type: text/plain; charset="UTF-8"

This nondelivery report was generated by the program amavis
at host mail.example.org. Our internal reference code for
your message is 34567-01/Bbwmq2JzNqE8M.

The message WAS NOT delivered to:
<user@example.net>:
   554 5.6.0 Reject, id=34567-01 - BAD HEADER
"""


def test_amavis_alert_names_what_the_checker_found():
    """Scenario: a banned-attachment alert lists two recipients under "->" and no reply."""
    first, second = amavis.extract(mail(AMAVIS_BANNED)).deliveries
    assert (first.recipient, second.recipient) == ("user@example.net", "other@example.net")
    assert "banned name: .exe,invoice.exe" in (first.diagnostic or "")
    assert first.diagnostic == second.diagnostic
    assert classify(first).reason is Reason.POLICY_VIOLATION


def test_amavis_reply_per_recipient():
    """Scenario: "The message WAS NOT delivered to:" gives each recipient amavis's own reply."""
    (only,) = amavis.extract(mail(AMAVIS_REPLIES)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "554 5.6.0 Reject, id=34567-01 - BAD HEADER"
    assert (only.status, only.reply_code) == ("5.6.0", "554")


# --------------------------------------------------------------------------- gmx / exim variants

GMX_ONE_LINE = """
From: "Mail Delivery System" <mailer-daemon@mail.example.org>
To: sender@example.com
Subject: Mail delivery failed: returning message to sender
Content-Type: text/plain; charset=utf-8

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address
failed:

"user@example.net":
SMTP error from remote server for RCPT TO command, host: mx.example.net (198.51.100.70) \
reason: 550 5.1.1 <user@example.net>... User unknown

--- The header of the original message is following. ---
"""

EXIM_PIPE_OUTPUT = """
From: Mail Delivery System <Mailer-Daemon@lists.example.org>
To: sender@example.com
Subject: Mail delivery failed: returning message to sender

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  pipe to |/usr/lib/mailman/mail/mailman post announce
    generated by announce@example.net
    local delivery failed

The following text was generated during the delivery attempt:

------ pipe to |/usr/lib/mailman/mail/mailman post announce
       generated by announce@example.net ------

Group mismatch error.  Mailman expected the mail wrapper script to be
executed as group "list".

------ This is a copy of the message, including all the headers. ------
"""


def test_gmx_reply_on_one_line():
    """Scenario: newer GMX / WEB.DE notices give command, host and reply on a single line."""
    (only,) = gmx.extract(mail(GMX_ONE_LINE)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 <user@example.net>... User unknown"
    assert (only.remote_mta, only.smtp_command) == ("mx.example.net", "RCPT")


def test_exim_local_delivery_with_generated_text():
    """Scenario: a pipe to Mailman failed; what it printed follows under its own heading."""
    (only,) = exim.extract(mail(EXIM_PIPE_OUTPUT)).deliveries
    assert only.recipient == "announce@example.net"
    assert "pipe to |/usr/lib/mailman/mail/mailman" in (only.diagnostic or "")
    assert "Group mismatch error" in (only.diagnostic or "")
    assert classify(only).reason is Reason.MAILER_ERROR


REPLIES_LISTED_APART = """
From: Mail Delivery System <Mail.Delivery.System@mx.example.org>
To: sender@example.com
Subject: Delivery status notification
Content-Type: text/plain; charset=UTF-8

      This is an automatically generated Delivery Status Notification.

Delivery to the following recipients failed permanently:

   * user@example.net
   * other@example.net

                             Technical details:
SMTP:RCPT host 192.0.2.8: 553 5.3.0 <user@example.net>... No such user here
SMTP:RCPT host 192.0.2.8: 552 5.2.2 <other@example.net>... Mailbox full
"""


def test_textbounce_reply_naming_the_recipient_wins_over_the_nearest():
    """Scenario: recipients listed first, replies below; each reply names its own recipient."""
    first, second = textbounce.extract(mail(REPLIES_LISTED_APART)).deliveries
    assert (first.recipient, first.status) == ("user@example.net", "5.3.0")
    assert (second.recipient, second.status) == ("other@example.net", "5.2.2")
    assert second.diagnostic == "552 5.2.2 <other@example.net>... Mailbox full"


TYPED_RECIPIENT = """
From: POSTMASTER@mail.example.org
To: sender@example.com
Subject: Message Delivery Failure
Content-Type: text/plain; charset=us-ascii

The following recipient(s) could not be reached:

\tRecipient: [SMTP:user@example.net]
\tReason: The message could not be delivered because the domain name (example.net) does \
not appear to be registered.
"""


def test_textbounce_typed_address_beside_a_label_is_not_the_reason():
    """Scenario: "Recipient: [SMTP:user@host]" says nothing; the "Reason:" line below does."""
    (only,) = textbounce.extract(mail(TYPED_RECIPIENT)).deliveries
    assert only.recipient == "user@example.net"
    assert (only.diagnostic or "").startswith("Reason: The message could not be delivered")
    assert classify(only).reason is Reason.HOST_UNKNOWN


PASTED_ORIGINAL = """
From: MAILER-DAEMON@mail.example.org
To: sender@example.com
Subject: Undeliverable: hello
Content-Type: text/plain; charset=utf-8

Your message could not be delivered to the following recipient:

  user@example.net
  550 5.1.1 User unknown

From: Sender <sender@example.com>
To: user@example.net
Cc: other@example.net
Subject: hello

Write to us at info@example.com.
"""


def test_textbounce_original_pasted_below_the_recipients_is_not_read():
    """Scenario: the original's headers and body follow the notice with no separator."""
    (only,) = textbounce.extract(mail(PASTED_ORIGINAL)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 User unknown"


# --------------------------------------------------------------------------- mdaemon

MDAEMON_DATA = """
From: "MDaemon at mail.example.com" <MDaemon@mail.example.com>
To: sender@example.com
Subject: Permanent Delivery Failure
X-MDDSN-Message: Yes
Content-Type: text/plain; charset=us-ascii

The attached message had PERMANENT fatal delivery errors!

  --- Session Transcript ---
 Mon 2026-03-02 09:00:01: *  To: user@example.net, other@example.net
 Mon 2026-03-02 09:00:01: *  Message-ID: <orig-31@example.com>
 Mon 2026-03-02 09:00:02: <-- 220 mx.example.net ESMTP
 Mon 2026-03-02 09:00:02: --> RCPT To:<user@example.net>
 Mon 2026-03-02 09:00:02: <-- 550 5.1.1 <user@example.net>: User unknown
 Mon 2026-03-02 09:00:02: --> RCPT To:<other@example.net>
 Mon 2026-03-02 09:00:02: <-- 250 2.1.5 Ok
 Mon 2026-03-02 09:00:02: --> DATA
 Mon 2026-03-02 09:00:03: <-- 554 5.7.1 Message rejected as spam
  --- End Transcript ---
"""

MDAEMON_NO_MX = """
From: "MDaemon at mail.example.com" <MDaemon@mail.example.com>
To: sender@example.com
Subject: Warning: Temporary Delivery Failure
Content-Type: text/plain; charset=us-ascii

This is a warning message only.  The message will be retried later.

  --- Session Transcript ---
 Mon 2026-03-02 09:00:01: *  To: user@example.net
 Mon 2026-03-02 09:00:01: Resolving MX records for [example.net] (DNS Server: 192.0.2.53)...
 Mon 2026-03-02 09:00:01: *** Error: no MX or A records found for [example.net]
  --- End Transcript ---
"""


def test_mdaemon_rcpt_and_data_refusals():
    """Scenario: one recipient refused at RCPT, the other accepted then refused after DATA."""
    first, second = mdaemon.extract(mail(MDAEMON_DATA)).deliveries
    assert (first.recipient, first.status, first.smtp_command) == (
        "user@example.net",
        "5.1.1",
        "RCPT",
    )
    assert first.diagnostic == "550 5.1.1 <user@example.net>: User unknown"
    assert second.recipient == "other@example.net"
    assert second.diagnostic == "554 5.7.1 Message rejected as spam"
    assert first.action is Action.FAILED
    assert first.original_message_id == "<orig-31@example.com>"


def test_mdaemon_warning_without_a_connection():
    """Scenario: a delay warning whose transcript never reached RCPT names the To: address."""
    (only,) = mdaemon.extract(mail(MDAEMON_NO_MX)).deliveries
    assert only.recipient == "user@example.net"
    assert only.action is Action.DELAYED
    assert only.diagnostic == "Error: no MX or A records found for [example.net]"


# --------------------------------------------------------------------------- translated templates

POSTFIX_TRANSLATED = """
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
To: sender@example.com
Subject: Unzustellbare Nachricht
Content-Type: text/plain; charset=utf-8

Dies ist das Mailsystem auf Host mail.example.org.

<user@example.net>: host mx.example.net[198.51.100.4] said: 550 5.1.1
    <user@example.net>: Recipient address rejected: User unknown (in reply
    to RCPT TO command)
"""


def test_postfix_paragraph_under_a_translated_template():
    """Scenario: a German bounce.cf template around Postfix's own failure paragraph."""
    (only,) = postfix.extract(mail(POSTFIX_TRANSLATED)).deliveries
    assert only.recipient == "user@example.net"
    assert (
        only.diagnostic == "550 5.1.1 <user@example.net>: Recipient address rejected: User unknown"
    )
    assert (only.remote_mta, only.smtp_command) == ("mx.example.net", "RCPT")


HTML_ONLY_TABLE = """
From: "MAILER-DAEMON" <mailer-daemon@mail.example.org>
To: sender@example.com
Subject: =?UTF-8?B?66mU7J28IOuwnOyGoSDsi6TtjKg=?=
Content-Type: text/html; charset=UTF-8

<html><body><table>
<tr><td>Recipient</td><td>user@example.net</td></tr>
<tr><td>Reason</td><td>550 5.1.1 &lt;user@example.net&gt;: User unknown</td></tr>
</table></body></html>
"""

LABEL_BESIDE_ADDRESS = """
From: MAILER-DAEMON@mail.example.org
To: sender@example.com
Subject: Undeliverable mail: hello
Content-Type: text/plain; charset=utf-8

Failed to deliver to '<user@example.net>'
LOCAL module(account user) reports:
 account is full (quota exceeded)
"""


def test_textbounce_html_only_notice_with_table():
    """Scenario: an HTML-only notice (Korean Subject) puts the address and reply in table cells."""
    (only,) = textbounce.extract(mail(HTML_ONLY_TABLE)).deliveries
    assert only.recipient == "user@example.net"
    assert only.diagnostic == "550 5.1.1 <user@example.net>: User unknown"


def test_textbounce_label_beside_the_address_is_not_the_reason():
    """Scenario: "Failed to deliver to '<x>'" says nothing; the module's report below does."""
    (only,) = textbounce.extract(mail(LABEL_BESIDE_ADDRESS)).deliveries
    assert only.recipient == "user@example.net"
    assert "account is full" in (only.diagnostic or "")


# --------------------------------------------------------------------------- line endings

SAMPLES = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and value.lstrip().startswith("From:")
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_same_facts_with_crlf_and_cr_line_endings(name: str):
    """Scenario: each sample read with CRLF and with CR-only line endings yields the same facts."""
    lf = SAMPLES[name].lstrip("\n").encode("utf-8")
    expected = [module.extract(Message(lf)) for module in VENDOR_MODULES]
    assert any(expected) or name in {"HUMAN", "RFC3464", "NOT_FROM_A_MAIL_SYSTEM", "RELAYED"}
    for ending in (b"\r\n", b"\r"):
        raw = lf.replace(b"\n", ending)
        assert [module.extract(Message(raw)) for module in VENDOR_MODULES] == expected
