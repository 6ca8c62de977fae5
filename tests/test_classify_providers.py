"""Documented replies of large mailbox providers, MTAs and filtering services, and the
verdict each must get (DESIGN.md §1): Gmail, Outlook.com / Office 365 / Exchange, Yahoo / AOL,
iCloud, Proton, Zoho, Yandex, Mail.ru, GMX / Web.de, T-Online, Orange, Comcast, AT&T, Postfix,
Exim, Sendmail, qmail, Spamhaus / SpamCop / Barracuda / Proofpoint / Mimecast notices. Hosts and
addresses are anonymised; the wording is the servers' own. Each reply is read the way the DSN
reader reads a Diagnostic-Code (reply and status codes taken from the text) in a failed DSN.
"""

from __future__ import annotations

import pytest

from returnpath.model import Action, Delivery, Verdict
from returnpath.parsers.classify import classify
from returnpath.parsers.smtp import diagnostic_codes

#: "category reason: reply", a long reply continued on indented lines (joined with a space).
_TABLE = """
    hard userunknown: 550-5.1.1 The email account that you tried to reach does not exist.
        Please try double-checking the recipient's email address for typos or
        unnecessary spaces. For more information, go to
        https://support.google.com/mail/?p=NoSuchUser
    soft mailboxfull: 552-5.2.2 The recipient's inbox is out of storage space. Please direct
        the recipient to https://support.google.com/mail/?p=OverQuotaPerm
    soft mailboxfull: 452-4.2.2 The recipient's inbox is out of storage space and inbound
        mail cannot be delivered.
    soft mailboxfull: 552-5.2.2 The email account that you tried to reach is over quota.
    soft speeding: 450-4.2.1 The user you are trying to contact is receiving mail at a rate
        that prevents additional messages from being delivered.
    soft speeding: 421-4.2.1 The user you are trying to contact is receiving mail too
        quickly.
    block authfailure: 550-5.7.26 Unauthenticated email from example.com is not accepted due
        to domain's DMARC policy. Please contact the administrator of
        example.com domain if this was a legitimate mail.
    block authfailure: 550-5.7.26 This mail has been blocked because the sender is
        unauthenticated. Gmail requires all senders to authenticate with
        either SPF or DKIM.
    block spamdetected: 550-5.7.1 Our system has detected that this message is likely
        unsolicited mail. To reduce the amount of spam sent to Gmail, this
        message has been blocked.
    block badreputation: 421-4.7.28 Our system has detected an unusual rate of unsolicited
        mail originating from your IP address. To protect our users from
        spam, mail sent from your IP address has been temporarily rate
        limited.
    block requireptr: 550-5.7.25 The IP address sending this message does not have a PTR
        record setup, or the corresponding forward DNS entry does not point to
        the sending IP.
    soft suspend: 550-5.2.1 The email account that you tried to reach is disabled.
    soft speeding: 550-5.2.1 The user you are trying to contact is receiving mail at a rate
        that prevents additional messages from being delivered.
    block securityerror: 552-5.7.0 This message was blocked because its content presents a
        potential security issue.
    soft mesgtoobig: 552-5.3.4 Your message exceeded Google's message size limits.
    hard userunknown: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP
        address lookup
    hard userunknown: 550 5.4.1 Recipient address rejected: Access denied. AS(201806281)
        [DM6NAM12FT012.eop-nam12.prod.protection.outlook.com]
    block blocked: 550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using
        Spamhaus. To request removal from this list see
        https://www.spamhaus.org/query/ip/192.0.2.1 AS(1450)
    block blocked: 550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request
        removal from this list please visit https://sender.office.com/ and follow
        the directions.
    block badreputation: 451 4.7.650 The mail server [192.0.2.1] has been temporarily rate
        limited due to IP reputation.
    block blocked: 550 5.7.708 Service unavailable. Access denied, traffic not accepted from
        this IP.
    block blocked: 550 5.7.511 Access denied, banned sender[192.0.2.1]. To request removal
        from this list please forward this message to
        delist@messaging.microsoft.com.
    soft mailboxfull: 552 5.2.2 STOREDRV.Deliver; mailbox full
    block securityerror: 550 5.7.1 RESOLVER.RST.AuthRequired; authentication required
    soft filtered: 550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized
    block securityerror: 550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup;
        authentication required
    soft networkerror: 554 5.4.14 Hop count exceeded - possible mail loop ATTR34
    soft contenterror: 550 5.6.211 Invalid MIME Content: Single text value size (32768)
        limit exceeded.
    block policyviolation: 554 5.7.9 Message not accepted for policy reasons. See
        https://help.yahoo.com/kb/postmaster/SLN7505.html
    hard userunknown: 553 5.1.1 <user@yahoo.com>: Recipient address rejected: mailbox
        unavailable
    hard userunknown: 554 delivery error: dd This user doesn't have a yahoo.com account
        (user@yahoo.com) [0] - mta1234.mail.bf1.yahoo.com
    soft suspend: 554 delivery error: dd Sorry your message to user@yahoo.com cannot be
        delivered. This mailbox is disabled (554.30). - mta1234.mail.bf1.yahoo.com
    block badreputation: 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due
        to unexpected volume or user complaints - 4.16.55.1; see
        https://postmaster.yahooinc.com/error-codes
    block blocked: 421 4.7.0 [TS03] All messages from 192.0.2.1 will be permanently
        deferred; Retrying will NOT succeed. See
        https://postmaster.yahooinc.com/error-codes
    block blocked: 554 5.7.1 [TS04] Messages from 192.0.2.1 permanently deferred due to user
        complaints - 4.16.56.1; see https://postmaster.yahooinc.com/error-codes
    block blocked: 421 4.7.1 [TSS09] All messages from 192.0.2.1 will be permanently
        deferred; Retrying will NOT succeed.
    block authfailure: 554 5.7.1 [P2] Message blocked due to DMARC. See
        https://postmaster.yahooinc.com/error-codes
    hard userunknown: 550 5.1.1 <user@icloud.com>: user does not exist
    block policyviolation: 554 5.7.1 [CS01] Message rejected due to local policy. Please
        visit https://support.apple.com/en-us/HT204137
    soft mailboxfull: 552 5.2.2 <user@icloud.com>: user is over quota
    hard userunknown: 550 5.1.1 Address does not exist
    hard userunknown: 550 5.1.1 <user@proton.me>: Recipient address rejected: Address does
        not exist
    soft mailboxfull: 552 5.2.2 <user@proton.me>: Recipient address rejected: Mailbox is
        full
    hard userunknown: 550 5.1.1 User does not exist - <user@zoho.com>
    soft networkerror: 554 5.4.6 Loop detected
    block authfailure: 550 5.7.1 Email rejected per DMARC policy for example.com
    block rejected: 553 5.7.1 Sender address rejected: not owned by user
    hard userunknown: 550 No such user here
    soft suspend: 550 Message was not accepted -- invalid mailbox. Local mailbox
        user@yandex.ru is unavailable: account is disabled
    hard userunknown: 550 Message was not accepted -- invalid mailbox. Local mailbox
        user@yandex.ru is unavailable: user not found
    block spamdetected: 554 5.7.1 [2] Message rejected under suspicion of SPAM;
        https://ya.cc/1IrBc
    hard userunknown: 550 Message was not accepted -- invalid mailbox. Local mailbox
        user@mail.ru is unavailable: user not found
    block spamdetected: 550 spam message rejected. Please visit
        http://help.mail.ru/notspam-support/id?c=abc
    soft suspend: 550 Message was not accepted -- invalid mailbox. Local mailbox
        user@mail.ru is unavailable: account is disabled
    hard userunknown: 550 Requested action not taken: mailbox unavailable
    hard userunknown: 550 Requested action not taken: mailbox unavailable / invalid mailbox
    block blocked: 554-gmx.net (mxgmx001) Nemesis ESMTP Service not available 554-No SMTP
        service 554-IP address is block listed.
    block policyviolation: 554-mx.gmx.net (mxgmx114) Nemesis ESMTP Service not available
        554-No SMTP service 554 Reject due to policy restrictions.
    soft suspend: 550 Requested action not taken: mailbox unavailable / Mailbox disabled for
        this recipient
    soft mailboxfull: 552 Requested mail action aborted: exceeded storage allocation
    hard userunknown: 550 5.1.1 <user@t-online.de>: Recipient address rejected: User unknown
    hard userunknown: 550 5.0.0 <user@orange.fr>: Recipient address rejected: User unknown
        in relay recipient table
    block blocked: 550 5.5.0 Service refuse. Veuillez essayer plus tard. Service refused,
        please try later. OFR_999 [999]
    block blocked: 554 5.7.1 Service unavailable; client [192.0.2.1] blocked using
        bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.1
    hard userunknown: 554 delivery error: dd Not a valid recipient -
        atlas101.free.mail.ir2.yahoo.com
    hard userunknown: 550 5.1.1 <user@comcast.net> recipient does not exist
    block blocked: 554 resimta-ch2-17v.sys.comcast.net resimta-ch2-17v.sys.comcast.net
        192.0.2.1 found on one or more DNSBLs, see
        http://postmaster.comcast.net/smtp-error-codes.php#BL000001
    hard userunknown: 550 5.1.1 user@att.net Recipient address rejected: Recipient address
        rejected: User unknown
    block blocked: 553 5.3.0 flpd591 DNSBL:RBL 521< 192.0.2.1 >_is_blocked.For assistance
        forward this error to abuse_rbl@abuse-att.net
    hard userunknown: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown
        in local recipient table
    hard userunknown: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown
        in virtual alias table
    soft norelaying: 554 5.7.1 <user@example.net>: Relay access denied
    soft hostunknown: 450 4.1.2 <user@example.net>: Recipient address rejected: Domain not
        found
    hard hostunknown: 550 5.1.2 <user@example.net>: Recipient address rejected: Domain not
        found
    block blocked: 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using
        zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1
    block requireptr: 450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]
    soft mailboxfull: 452 4.2.2 <user@example.net>: Recipient address rejected: Mailbox full
    hard hostunknown: 550 Unrouteable address
    hard userunknown: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown
    block rejected: 550-Verification failed for <bounces@example.com> 550-No Such User Here
        550 Sender verify failed
    block blocked: 550 rejected because 192.0.2.1 is in a black list at zen.spamhaus.org
    soft norelaying: 550 relay not permitted
    hard userunknown: 550 5.1.1 <user@example.net>... User unknown
    hard userunknown: 553 5.3.0 <user@example.net>... Addressee unknown, relay=[192.0.2.1]
    soft norelaying: 550 5.7.1 <user@example.net>... Relaying denied
    soft mailboxfull: 552 5.2.2 <user@example.net>... Mailbox full
    block blocked: 554 5.7.1 Rejected 192.0.2.1 found in dnsbl.sorbs.net
    block spamdetected: 550 5.7.1 Message rejected as spam by Content Filtering.
    block spamdetected: 554 5.7.1 The message from (<bounces@example.com>) with the subject
        of (Hello) matches a profile the Internet community may consider
        spam. Please revise your message before resending.
    hard userunknown: 550 5.1.1 User unknown
    hard userunknown: 550 5.4.1 Recipient address rejected: Access denied
    block blocked: 554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda
        Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=192.0.2.1
    block blocked: 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using
        b.barracudacentral.org
    soft norelaying: 553 Sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)
    block blocked: 554 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1
    block blocked: 550 5.7.1 Message blocked by Proofpoint Essentials. Contact your
        administrator
    block badreputation: 521 Proofpoint connection rejected due to poor reputation
    block policyviolation: 550 Rejected by header based Anti-Spoofing policy:
        user@example.net -
        https://community.mimecast.com/docs/DOC-1369#550
    hard userunknown: 550 Invalid Recipient -
        https://community.mimecast.com/docs/DOC-1369#550
    block policyviolation: 554 Email rejected due to security policies -
        https://community.mimecast.com/docs/DOC-1369#554
    block blocked: 550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please
        contact your Internet service provider since part of their network is on
        our block list (S3150).
    block blocked: 550 SC-001 (BAY004-MC1F35) Unfortunately, messages from 192.0.2.1 weren't
        sent. Please contact your Internet service provider since part of their
        network is on our block list.
    soft speeding: 421 RP-001 (BAY004-MC6F30) Unfortunately, some messages from 192.0.2.1
        weren't sent. Please try again. We have limits for how many messages can
        be sent per hour and per day.
    block blocked: 550 OU-001 (SNT004-MC2F2) Unfortunately, messages from 192.0.2.1 weren't
        sent. Please contact your Internet service provider.
    block rejected: 550 Your E-Mail is redundant. You cannot send E-Mail to yourself
        (user@example.net)
    block spamdetected: 554 5.7.1 Spam message rejected
    block spamdetected: 550 High probability of spam
    block blocked: 550 5.7.1 Mail from 192.0.2.1 refused by SpamCop blocklist
    soft suspend: 550 5.2.1 The email account that you tried to reach is disabled.
    soft suspend: 550 5.2.1 Mailbox disabled, not accepting messages
    hard hasmoved: 550 5.1.6 Recipient addresses in this domain no longer accept mail
    hard hasmoved: 550 5.1.6 recipient no longer on server
    hard hasmoved: 551 User not local; please try <user@example.org>
    soft mailboxfull: 550 Mailbox quota exceeded
    soft mesgtoobig: 552 Message size exceeds maximum permitted
    soft toomanyconn: 421 Too many concurrent SMTP connections; please try again later.
    block authfailure: 550 5.7.1 Client host rejected: SPF check failed
    block authfailure: 550 5.7.509 Access denied, sending domain example.com does not pass
        DMARC verification and has a DMARC policy of reject.
    hard userunknown: 550 5.1.1 <user@gmx.de>... User is unknown {mx-ha002}
    hard userunknown: 550 Requested action not taken: mailbox unavailable (<user@web.de>)
    block policyviolation: 554-Transaction failed 554-Reject due to policy restrictions. 554
        For explanation visit
        https://web.de/email/senderguidelines?ip=192.0.2.1&c=hi
    hard userunknown: 550 5.1.1 <user@yandex.ru>: Recipient address rejected: User unknown
    block blocked: 550 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because
        the ip is in Spamhaus's list; see
        http://postmaster.yahoo.com/550-bl23.html
    hard userunknown: 550 5.1.1 Mailbox does not exist
    hard userunknown: 554 30 Sorry, no mailbox here by that name. (#5.1.1)
    hard userunknown: 550 #5.1.0 Address rejected.
    block policyviolation: 554 5.7.1 Message rejected because of unacceptable content. For
        help, please quote incident ID 12345.
    block spamdetected: 550 5.7.350 Remote server returned message detected as spam -> 554
        5.7.1 Message rejected due to content restrictions
    block rejected: 550 5.1.8 Access denied, bad outbound sender.
    block policyviolation: 550 5.7.520 Access denied, Your organization does not allow
        external forwarding.
    block spamdetected: 550 5.7.501 Access denied, spam abuse detected.
    soft norelaying: 550 5.7.64 TenantAttribution; Relay Access Denied
    soft expired: 550 5.4.300 Message expired
    soft expired: 550 4.4.7 QUEUE.Expired; message expired
    soft mailboxfull: 554 5.2.0
        STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded
    soft mailboxfull: 550 5.2.2 mailbox full
    hard userunknown: 550 5.1.351 Remote server returned 'Recipient not found'
    soft contenterror: 554 5.6.0 Corrupt message content;
        STOREDRV.Deliver.Exception:ConversionFailedPermanentException
    block policyviolation: 550 5.7.1 TRANSPORT.RULES.RejectMessage; the message was rejected
        by organization policy
    soft filtered: 550 5.7.124 Sender not in allowed-senders list
    soft filtered: 550 5.7.129 RESOLVER.RST.RestrictedToRecipientsPermission; not authorized
        to send to recipient because the sender isn't on the allow list
    block rejected: 550 5.1.0 Sender denied
    soft notaccept: 421 4.3.2 Service not available, closing transmission channel
    block badreputation: 554 5.7.1 [IPTS04] Messages from 192.0.2.1 temporarily deferred due
        to user complaints
    soft suspend: 550 5.2.1 <user@aol.com>: Mailbox disabled for this recipient
    block policyviolation: 554 Message not allowed - [PH01] Email not accepted for policy
        reasons. Please visit https://postmaster.yahooinc.com/error-codes
    soft notcompliantrfc: 554 Message not allowed - Headers are not RFC compliant[291]
    block blocked: 553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because
        the ip is in Spamhaus's list
    block requireptr: 550 5.7.1 Connections not accepted from servers without a valid sender
        domain.flmlgxxx Fix reverse DNS for 192.0.2.1
    soft filtered: 554 5.7.1 Your mail could not be delivered because the recipient is only
        accepting mail from specific email addresses.
    block authfailure: 550 5.7.1 Unauthenticated email is not accepted from this domain.
    block requireptr: 550 Sender IP reverse lookup rejected
    block rejected: 550 Message rejected: Email address is not verified. The following
        identities failed the check in region US-EAST-1: bounces@example.com
    hard userunknown: 550 5.1.1 Recipient rejected: user@protonmail.ch: address does not
        exist
    soft mailboxfull: 552 5.2.2 Mailbox size limit exceeded
    soft mailboxfull: 452 4.2.2 Over quota
    soft suspend: 550 5.2.1 This mailbox has been blocked due to inactivity
    soft norelaying: 550 Relaying mail to user@example.net is not allowed
    block authfailure: 550 5.7.1 Rejected by DMARC policy for example.com
    block authfailure: 550 5.7.1 Sender domain example.com has a DMARC policy of reject
    block authfailure: 554 5.7.5 Permanent error evaluating DMARC policy
    block authfailure: 550 SPF: 192.0.2.1 is not allowed to send mail from example.com
    block virusdetected: 550 5.7.1 Message contains a virus (Eicar-Test-Signature)
    block spamdetected: 550 5.7.0 Message content rejected, UBE, id=12345-01
    block spamdetected: 554 5.7.0 Reject, id=12345-01 - spam
    block spamdetected: 550 5.7.1 Blocked by SpamAssassin
    block spamdetected: 550 5.7.1 Message identified as SPAM
    hard userunknown: 550 permanent failure for one or more recipients (user@example.net:550
        5.1.1 user unknown)
    hard userunknown: 550 5.1.1 The email address you have entered is invalid
    soft notaccept: 550 Recipient is not accepting mail
    hard userunknown: 550 5.1.1 Recipient address is invalid
    soft suspend: 550 This account has been suspended
    soft suspend: 554 5.7.1 Recipient address rejected: This account has been deactivated
    block blocked: 550 5.7.1 Your IP address has been blocked because of poor reputation
    block blocked: 550 5.7.1 IP 192.0.2.1 is listed in RBL
    hard userunknown: 550 5.1.1 <user@example.net>: Recipient address rejected:
        undeliverable address: host mx.example.net[192.0.2.1] said: 550 5.1.1
        User unknown
    soft suspend: 450 4.2.1 Mailbox temporarily unavailable
    soft suspend: 550 5.2.1 Account inactive
    soft suspend: 550 5.2.1 The account is inactive
    soft suspend: 550 5.1.1 This account is not active
    soft suspend: 550 5.2.1 User account is disabled
    hard hostunknown: 550 Host or domain name not found. Name service error for
        name=example.net type=A: Host not found
    hard notaccept: 556 5.1.10 Recipient address has null MX
    soft failedstarttls: 530 5.7.0 Must issue a STARTTLS command first
    soft mesgtoobig: 554 5.3.4 Message too big for system
    soft speeding: 550 5.4.5 Daily user sending quota exceeded.
    block policyviolation: 550 5.7.0 Local Policy Violation
    block spamdetected: 550 5.7.350 Remote server returned message detected as spam
    soft networkerror: 421 4.4.2 Connection dropped due to SocketError
    soft networkerror: 451 4.4.0 DNS query failed
    hard hostunknown: 554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain
    hard userunknown: 550 5.4.1 [user@example.net]: Recipient address rejected: Access
        denied. [SN1NAM02FT012.eop-nam02.prod.protection.outlook.com]
    soft filtered: 550 5.7.1 Delivery not authorized, message refused
    hard hasmoved: 550 5.1.1 <user@example.net>: Recipient address rejected: User has moved
        to another domain
    soft notcompliantrfc: 550 5.7.1 This message is not RFC 5322 compliant. There are
        multiple From headers.
    soft mesgtoobig: 552 5.3.4 Error: message file too big
    block spamdetected: 554 5.7.1 Message cannot be accepted, spam rejection
    soft suspend: 550 5.7.1 <user@example.net>: Recipient address rejected: Inactive user
    hard userunknown: 550 Recipient not found
    soft mailboxfull: 554 5.2.2 mailbox full;
        STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded
    soft mailboxfull: 554 5.2.0
        STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded;
        Failed to process message due to a permanent exception with message
        [BeginDiagnosticData]Cannot open mailbox.
    soft filtered: 554 5.7.1 Your mail could not be delivered because the recipient is only
        accepting mail from specific email addresses. If you would like to
        contact the recipient, try other ways to reach them.
    block rejected: 550 Your E-Mail is redundant. You cannot send E-Mail to yourself
        (user@example.com).
    soft mailboxfull: 552 5.2.2 Mailbox quota usage exceeded
    soft mailboxfull: 552 5.2.2 <user@example.net>: the account is exceeding their quota
    soft mailboxfull: 552 5.2.2 Sorry, the user is over the quota
    soft mailboxfull: 552 5.2.2 This message would be over the allowed quota
    soft mailboxfull: 552 5.2.2 Diskspace quota exceeded
    soft mailboxfull: 552 5.2.2 Mailfolder is full
    soft speeding: 454 Throttling failure: Daily message quota exceeded.
    soft expired: 550 Unable to deliver message after multiple retries
    soft expired: 550 5.4.7 Delivery failed: the host was not reachable within the allowed
        queue period
    soft expired: 550 Your message could not be delivered for more than 5 days
    soft suspend: 550 Message was not accepted -- invalid mailbox. Local mailbox
        user@mail.ru is unavailable: user is terminated
    soft norelaying: 550 5.7.1 Mail server requires authentication when attempting to send
        to a non-local e-mail address. Please check your mail client settings.
    soft norelaying: 550 This server is not an open relay, so get lost.
    block rejected: 550 5.1.0 Sender's address was rejected
    hard userunknown: 550 5.1.1 account not exist
    hard userunknown: 550 Die Nachricht wurde nicht zugestellt, weil die verlinkte E-Mail
        Adresse nicht existiert
    block spamdetected: 550 5.7.1 This message was rejected by Recurrent Pattern Detection
        System
    block blocked: 550 5.7.0 Blocked - see
        https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.1
    block policyviolation: 554 5.7.1 [HM08] Message not accepted due to policy reasons.
        Please see https://support.apple.com/en-us/HT204137
    block policyviolation: 554 5.7.7 Email policy violation detected
    hard userunknown: 550 5.1.1 <user@comcast.net> Not our Customer
    block spamdetected: 554 5.7.1 resimta-po-01v.sys.comcast.net comcast 192.0.2.1 Comcast
        block for spam. Please see
        http://postmaster.comcast.net/smtp-error-codes.php#BL000001
    hard userunknown: 550 5.1.1 <user@cox.net> recipient rejected
    hard userunknown: 550 5.1.1 unknown or illegal alias: user@example.net
    hard userunknown: 550 Unknown user user@docomo.ne.jp
    hard userunknown: 550 <user@ezweb.ne.jp>: User unknown
    hard userunknown: 553 5.3.0 <user@example.net>... No such user here
    hard userunknown: 550 Sorry, no mailbox here by that name.
    soft systemfull: 452 Insufficient system storage
    soft systemfull: 452 4.3.1 Insufficient system storage
    soft mesgtoobig: 552 5.3.4 Message size exceeds fixed limit
    soft contenterror: 554 5.6.1 Body type not supported by Remote Host
    block rejected: 550 5.7.1 Message rejected due to the sender's domain having no MX
        record
    block authfailure: 554 5.7.1 DMARC check failed
    block authfailure: 550 5.7.1 SPF validation failed
    block authfailure: 550 5.7.1 DKIM signature required
    block policyviolation: 554 5.7.1 This message has been blocked because it contains a
        banned attachment
    block virusdetected: 550 5.7.1 Message rejected: virus found in message
    soft contenterror: 554 5.6.0 Message contains invalid header
    soft contenterror: 550 5.6.0 Lone CR or LF in headers
    block badreputation: 550 5.7.1 Sending MTA's poor reputation
    block badreputation: 554 5.7.1 Rejected due to low sender reputation
    block blocked: 421 4.7.0 IP not in whitelist for RCPT domain, closing connection. -
        gsmtp
    block blocked: 550 5.7.1 Email rejected because 192.0.2.1 is listed by bl.spamcop.net
    soft systemerror: 451 Temporary local problem - please try later
    soft systemerror: 451 4.3.0 Mail server temporarily rejected message.
    block policyviolation: 554 5.7.1 Message rejected by mimecast: Anti-Spoofing policy
    block rejected: 550 Administrative prohibition - envelope blocked
    block authfailure: 550 5.7.1 Recipient address rejected: Message rejected due to: SPF
        fail - not authorized.
    hard userunknown: 550 #5.1.0 Address rejected user@example.net
    block spamdetected: 554 rejected due to spam content
    hard userunknown: 550 5.1.1 <user@example.net>: Recipient address rejected: User unknown
        in relay recipient table
    soft suspend: 550 5.2.1 <user@example.net>: Recipient address rejected: this mailbox is
        inactive and has been disabled
    hard userunknown: 550 5.1.1 user@example.net: Email address could not be found, or was
        misspelled (G8)
    block policyviolation: 554 5.7.1 Your message was rejected because it contains
        prohibited content
    hard hostunknown: 550 Host unknown
    hard hostunknown: 550 5.1.2 Bad destination system address
    hard hasmoved: 551 5.1.6 Recipient address has changed
    hard userunknown: 550 5.1.1 No such user (user@example.net)
    hard userunknown: 550 No such user - psmtp
    hard userunknown: 550 5.1.1 <user@orange.fr>: adresse d'au moins un destinataire
        invalide. invalid recipient. OFR_416 [416]
    hard userunknown: 550 5.1.1 <user@wanadoo.fr>: Adresse d au moins un destinataire
        invalide. Invalid recipient. OFR_416 [416]
    soft mailboxfull: 552 5.1.1 <user@orange.fr>: Boite du destinataire pleine. Recipient
        overquota. OFR_417 [417]
    soft onhold: 550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]
    soft toomanyconn: 421 mwinf5c10 ME Trop de connexions, veuillez verifier votre
        configuration. Too many connections, slow down. OFR005_104 [104]
    block blocked: 550 5.7.1 Service refuse. Veuillez essayer plus tard. Service refused,
        please try later. OFR_103 [103]
    hard userunknown: 550 5.1.1 <user@free.fr>: Recipient address rejected: Utilisateur
        inconnu
    hard userunknown: 550 5.1.1 <user@laposte.net>: Recipient address rejected: User unknown
        in local recipient table
    soft suspend: 550 5.5.0 Boite du destinataire archivee. Archived recipient. LPN007_510
    hard userunknown: 550 5.1.1 Benutzer unbekannt
    hard userunknown: 550 5.1.1 Mailbox nicht vorhanden
    soft mailboxfull: 552 5.2.2 Postfach voll
    block spamdetected: 550 5.7.1 Die E-Mail wurde als Spam eingestuft
    hard userunknown: 550 5.1.1 Usuario desconocido
    hard userunknown: 550 5.1.1 El usuario no existe
    soft mailboxfull: 552 5.2.2 Buzón lleno
    hard userunknown: 550 5.1.1 Utente sconosciuto
    soft mailboxfull: 552 5.2.2 Casella piena
    hard userunknown: 550 5.1.1 Usuário desconhecido
    hard userunknown: 550 5.1.1 Conta de email inexistente
    soft mailboxfull: 552 5.2.2 Caixa postal cheia
    hard userunknown: 550 5.1.1 Пользователь не найден
    hard userunknown: 550 5.1.1 Нет такого пользователя
    soft mailboxfull: 552 5.2.2 Почтовый ящик переполнен
    hard userunknown: 550 5.1.1 用户不存在
    soft mesgtoobig: 552 Requested mail action aborted: exceeded mailsize limit
    block spamdetected: 554 DT:SPM 163 smtp10,DsCowAC1f0YNw2BdSL2CBw--.11203S2 1567679245,
        please see http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1
    hard userunknown: 550 Ошибка: адресат не существует
    hard userunknown: 550 5.1.1 L'adresse e-mail est introuvable
    hard userunknown: 550 5.1.1 Destinataire inconnu
    hard userunknown: 550 5.1.1 Utilisateur inconnu
    hard userunknown: 550 5.1.1 Empfänger unbekannt
    hard userunknown: 550 5.1.1 宛先のメールアドレスは存在しません
    hard userunknown: 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found
    soft speeding: 550 5.1.90 Your message can't be sent because you've reached your daily
        limit for message recipients
    soft speeding: 550 5.2.2 Submission quota exceeded
    soft speeding: 550 5.2.121 Recipient's per hour message receive limit from specific
        sender exceeded
    soft speeding: 550 5.2.122 Recipient's per hour message receive limit exceeded
    soft networkerror: 550 5.4.6 Routing loop detected
    hard hostunknown: 550 5.4.310 DNS domain example.net does not exist
        [Message=InfoDomainNonexistent] [LastAttemptedServerName=example.net]
    soft expired: 550 5.4.312 Message expired
    soft expired: 550 5.4.316 Message expired
    soft contenterror: 550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare
        linefeeds, which cannot be sent via DATA
    block securityerror: 550 5.7.12 Sender was not authenticated by organization
    block authfailure: 550 5.7.23 The message was rejected because of Sender Policy
        Framework violation
    block securityerror: 530 5.7.57 Client not authenticated to send mail
    block securityerror: 550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup;
        authentication required; Delivery restriction check failed as
        sender not authenticated
    block blocked: 550 5.7.510 Access denied, example.net does not accept email over IPv6
    soft notcompliantrfc: 550 5.7.512 Access denied, message must be RFC 5322 section 3.6.2
        compliant
    block blocked: 550 5.7.700 Access denied, tenant has exceeded threshold
    block blocked: 550 5.7.750 Service unavailable. Client blocked from sending from
        unregistered domains
    soft systemerror: 451 4.7.500 Server busy. Please try again later from [192.0.2.1].
        (S77719)
    block badreputation: 451 4.7.650 The mail server [192.0.2.1] has been temporarily rate
        limited due to IP reputation. For e-mail delivery information, see
        https://postmaster.live.com (S775)
    block blocked: 550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please
        contact your Internet service provider since part of their network is on
        our block list (S3140). You can also refer your provider to
        http://mail.live.com/mail/troubleshooting.aspx#errors.
    hard userunknown: 550 5.5.0 Requested action not taken: mailbox unavailable.
        [BN8NAM11FT012.eop-nam11.prod.protection.outlook.com]
    block spamdetected: 550 5.7.1 5.7.1 Message rejected due to content restrictions
    block spamdetected: 550 5.7.350 Remote server returned message detected as spam -> 550
        5.7.1 Message rejected as spam
    block rejected: 550 5.1.0 <bounces@example.com>: Sender address rejected: User unknown
        in virtual mailbox table
    block rejected: 550 5.7.1 <bounces@example.com>: Sender address rejected: undeliverable
        address: unknown user
    block rejected: 553 5.7.1 <bounces@example.com>: Sender address rejected: not logged in
    soft userunknown: 450 4.1.1 <user@example.net>: Recipient address rejected: unverified
        address: host mx.example.net said: 550 5.1.1 User unknown
    soft userunknown: 450 4.1.1 <user@example.net>: Recipient address rejected: User unknown
        in local recipient table
    block rejected: 550 5.1.8 Domain of sender address bounces@example.com does not exist
    block rejected: 553 5.1.7 The sender address <bounces@example.com> is not a valid
        RFC-5321 address
    block rejected: 550 5.7.60 SMTP; Client does not have permissions to send as this sender
    block rejected: 554 5.7.1 Your account has been suspended
    hard userunknown: 550 Mailbox not found.
        http://service.exmail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000728
    soft toomanyconn: 550 Ip frequency limited.
        http://service.exmail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000725
    soft toomanyconn: 550 Connection frequency limited.
        http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000722
    soft toomanyconn: 550 Domain frequency limited.
        http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726
    block spamdetected: 550 Mail content denied.
        http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726
    soft mailboxfull: 550 Mailbox is full.
        http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000731
    soft mesgtoobig: 550 Message is too large.
        http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000729
    soft speeding: 550 Error: too many emails have been sent to this user within a short
        time
    hard userunknown: 550 5.1.1 <user@example.net> Recipient not found.
        <http://x.co/irbounce>
    block rejected: 554 5.7.1 <bounces@example.com> sender rejected: IB212 - Mail from IP
        192.0.2.1 rejected; see https://www.godaddy.com/help/
    block blocked: 554 RLY:B1 The IP address 192.0.2.1 has been blocked
    block blocked: 553 5.7.2 [TSS11] All messages from 192.0.2.1 will be permanently
        deferred; Retrying will NOT succeed. See
        https://postmaster.yahooinc.com/error-codes
    hard userunknown: 550 5.1.1 Recipient address rejected: userunknown
    hard userunknown: 550 Invalid recipient <user@i.ua> (#5.1.1)
    block spamdetected: 554 5.7.1 Message rejected because of SPAM. Spam score: 30.1
        (IUA_SPAM)
    soft suspend: 550 5.2.1 <user@mail.ru>: Recipient mailbox is blocked
    block spamdetected: 550 5.7.1 Rejected by policy. UBE (bulk mail)
"""


def _replies(table: str) -> list[tuple[str, str, str]]:
    entries: list[list[str]] = []
    for line in table.splitlines():
        if not line.strip():
            continue
        if line.startswith("        "):
            entries[-1].append(line.strip())
        else:
            entries.append([line.strip()])
    replies = []
    for pieces in entries:
        verdict, _, first = pieces[0].partition(": ")
        category, reason = verdict.split()
        replies.append((" ".join([first, *pieces[1:]]), category, reason))
    return replies


REPLIES = _replies(_TABLE)


def _verdict(reply: str) -> Verdict:
    code, status = diagnostic_codes(reply)
    delivery = Delivery(
        recipient="user@example.net",
        action=Action.FAILED,
        status=status,
        reply_code=code,
        diagnostic=reply,
    )
    return classify(delivery)


def test_table_reads_whole() -> None:
    """Scenario: the table parses into replies that each start with a reply code."""
    assert len(REPLIES) > 150
    assert all(reply[:3].isdigit() for reply, _, _ in REPLIES)


@pytest.mark.parametrize(("reply", "category", "reason"), REPLIES, ids=[r[0][:70] for r in REPLIES])
def test_provider_reply_verdict(reply: str, category: str, reason: str) -> None:
    """Scenario: a provider's documented reply gets the verdict its words give."""
    verdict = _verdict(reply)
    assert (verdict.category.value, verdict.reason.value) == (category, reason), verdict.rule
