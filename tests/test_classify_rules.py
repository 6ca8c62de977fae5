"""The classification rules: every sample is matched first by its own rule, and the
properties DESIGN.md §1 demands hold whatever the rule order."""

from __future__ import annotations

import pytest

from returnpath.model import Action, Category, Delivery, Reason
from returnpath.parsers.classify import (
    RULES,
    RulesError,
    classify,
    classify_facts,
    facts_of,
    first_match,
    load_rules,
)


def _sample_delivery(rule) -> Delivery:
    return Delivery(
        recipient="user@example.com",
        action=Action(rule.sample_action) if rule.sample_action is not None else Action.FAILED,
        status=rule.sample_status,
        reply_code=rule.sample_code,
        diagnostic=rule.sample,
        hint=rule.sample_hint,
        smtp_command=rule.sample_command,
    )


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_sample_matches_its_rule_first(rule):
    """Scenario: the real reply a rule carries is decided by that rule and no earlier one."""
    matched = first_match(_sample_delivery(rule), with_reason=rule.reason is not None)
    assert matched is not None
    assert matched.id == rule.id


def test_rule_ids_unique_and_values_valid():
    """Scenario: rules.toml has unique ids, and every category/reason is a known enum value."""
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.reason is None or isinstance(rule.reason, Reason)
        assert rule.category is None or isinstance(rule.category, Category)


def test_duplicate_id_is_refused():
    """Scenario: a rules file with a repeated id does not load."""
    text = '[[rule]]\nid = "a"\nreason = "undefined"\nsample = "x"\n' * 2
    with pytest.raises(RulesError):
        load_rules(text)


def test_unknown_reason_is_refused():
    """Scenario: a misspelt reason ("deliverd") fails at load time, not at run time."""
    with pytest.raises(RulesError):
        load_rules('[[rule]]\nid = "a"\nreason = "deliverd"\nsample = "x"\n')


def test_rule_without_sample_is_refused():
    """Scenario: a rule that does not carry the reply it matches does not load."""
    with pytest.raises(RulesError):
        load_rules('[[rule]]\nid = "a"\nreason = "undefined"\n')


def _verdict(diagnostic=None, status=None, action=Action.FAILED, code=None, command=None):
    return classify(
        Delivery(
            recipient="user@example.com",
            action=action,
            status=status,
            reply_code=code,
            diagnostic=diagnostic,
            smtp_command=command,
        )
    )


def test_delayed_is_deferral_and_keeps_reason():
    """Scenario: Action: delayed with a mailbox-full reply is a deferral whose reason is kept."""
    v = _verdict("452 4.2.2 Mailbox full", "4.2.2", Action.DELAYED)
    assert v.category is Category.DEFERRAL
    assert v.reason is Reason.MAILBOX_FULL
    assert v.rule.startswith("action-delayed/")


def test_delivered_actions_are_delivered():
    """Scenario: positive DSN actions are delivered, never a bounce."""
    for action in (Action.DELIVERED, Action.RELAYED, Action.EXPANDED):
        assert _verdict("250 2.0.0 OK", "2.0.0", action).category is Category.DELIVERED


def test_mailbox_full_is_soft_even_with_permanent_code():
    """Scenario: 5.2.2 mailbox full is soft, and "mailbox full" text beats a 5.1.1 code."""
    assert _verdict("552 5.2.2 Mailbox full", "5.2.2").category is Category.SOFT
    v = _verdict("550 5.1.1 Mailbox full", "5.1.1")
    assert (v.category, v.reason) == (Category.SOFT, Reason.MAILBOX_FULL)


def test_text_beats_generic_status():
    """Scenario: a generic 5.0.0 with "user unknown" text is a hard userunknown."""
    v = _verdict("550 User unknown", "5.0.0")
    assert (v.category, v.reason) == (Category.HARD, Reason.USER_UNKNOWN)


def test_specific_code_in_text_beats_generic_status():
    """Scenario: Status 5.0.0 whose diagnostic carries 5.1.1 is decided by 5.1.1."""
    v = _verdict("550 5.1.1 Requested action not taken", "5.0.0")
    assert v.reason is Reason.USER_UNKNOWN


def test_blocks():
    """Scenario: blocklist, reputation, rDNS and SPF/DMARC refusals are blocks."""
    cases = [
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        "550 5.7.1 Poor reputation of the sending IP",
        "550 5.7.25 The IP address sending this message does not have a PTR record setup",
        "550 5.7.26 Unauthenticated email from example.com is not accepted due to DMARC policy",
        "550 5.7.1 SPF check failed",
    ]
    for text in cases:
        assert _verdict(text, "5.7.1").category is Category.BLOCK, text


def test_expired_is_soft():
    """Scenario: a failure after retries ran out is soft, reason expired."""
    for text, status in (("retry timeout exceeded", None), ("", "4.4.7")):
        v = _verdict(text, status)
        assert (v.category, v.reason) == (Category.SOFT, Reason.EXPIRED)


def test_notaccept_hard_only_with_permanent_code():
    """Scenario: a null-MX refusal is hard with 5xx, soft with a 4xx code."""
    assert _verdict("556 5.1.10 does not accept mail", "5.1.10").category is Category.HARD
    assert _verdict("453 4.3.2 System not accepting network messages", "4.3.2").category is (
        Category.SOFT
    )


def test_transient_user_unknown_is_not_hard():
    """Scenario: "user unknown" with a 4xx code is not positive evidence: not hard."""
    v = _verdict("450 4.1.1 <x@example.com>: Recipient address rejected: User unknown", "4.1.1")
    assert v.category is not Category.HARD


def test_unknown_failure_is_soft():
    """Scenario: a failure whose text and code say nothing known is soft, never hard."""
    v = _verdict("550 Message rejected", "5.0.0")
    assert v.category is Category.SOFT


def test_user_unknown_after_data_is_filtered():
    """Scenario: "user unknown" answered to DATA, after the recipient was accepted, is filtering."""
    v = _verdict("550 : User unknown", "5.0.0", command="DATA")
    assert (v.category, v.reason) == (Category.SOFT, Reason.FILTERED)


def test_multilingual_user_unknown():
    """Scenario: user-unknown replies in German, French and Spanish are hard."""
    for text in ("550 Benutzer unbekannt", "550 Utilisateur inconnu", "550 Usuario desconocido"):
        assert _verdict(text, "5.0.0").category is Category.HARD, text


def test_only_the_empty_diagnostic_rule_matches_nothing():
    """Scenario: no text pattern matches an empty diagnostic by accident (e.g. 'a?')."""
    matching = [r.id for r in RULES if r.text is not None and r.text.search("")]
    assert matching == ["failed-no-diagnostic"]


def test_upper_case_pattern_is_refused():
    """Scenario: a pattern with capitals (never matching the lower-cased text) does not load."""
    with pytest.raises(RulesError):
        load_rules('[[rule]]\nid = "a"\nreason = "undefined"\ntext = ["User"]\nsample = "x"\n')


def test_broken_pattern_is_refused_at_load():
    """Scenario: a text pattern that is not a regular expression fails at load time."""
    with pytest.raises(RulesError):
        load_rules('[[rule]]\nid = "a"\nreason = "undefined"\ntext = ["(user"]\nsample = "x"\n')


def test_every_rule_text_compiles_as_one_alternation():
    """Scenario: each rule's patterns, built on demand as one alternation, compile and match the
    rule's own sample when the rule is decided by its text alone."""
    for rule in RULES:
        if rule.text is None:
            assert rule.patterns == ()
            continue
        assert rule.text.pattern.count("(?:") >= len(rule.patterns)
        if not any((rule.actions, rule.hints, rule.status, rule.code, rule.commands)):
            assert rule.text.search(rule.sample.lower()), rule.id


def test_literal_shortcut_never_hides_a_match():
    """Scenario: the substring shortcut before each text pattern never skips a text it matches."""
    texts = [r.sample.lower() for r in RULES] + [
        "550 5.1.1 <a@example.com>: recipient address rejected: user unknown in local table",
        "552 5.2.2 mailbox size limit exceeded",
        "554 5.7.1 client host [192.0.2.1] blocked using bl.spamcop.net",
    ]
    for rule in RULES:
        if rule.text is None or rule.literals is None:
            continue
        for text in texts:
            if rule.text.search(text):
                assert any(lit in text for lit in rule.literals), (rule.id, text)


def test_filed_patterns_answer_as_the_whole_alternation():
    """Scenario: each rule's patterns, run one by one under their required substrings, match
    exactly the texts the rule's whole alternation matches (the speed-up changes no verdict)."""
    texts = [r.sample.lower() for r in RULES] + [
        t.lower() for t, *_ in WELL_KNOWN_REPLIES + MORE_REPLIES
    ]
    texts += ["", "550", "user", "address", "550 5.1.1 user unknown; mailbox full; blocked"]
    for rule in RULES:
        if rule.text is None:
            continue
        for text in texts:
            assert rule.text_matches(text) == bool(rule.text.search(text)), (rule.id, text)


WELL_KNOWN_REPLIES = [
    # (diagnostic, status, expected category, expected reason)
    (
        "550-5.1.1 The email account that you tried to reach does not exist.",
        "5.1.1",
        "hard",
        "userunknown",
    ),
    (
        "552-5.2.2 The email account that you tried to reach is over quota.",
        "5.2.2",
        "soft",
        "mailboxfull",
    ),
    (
        "550-5.2.1 The email account that you tried to reach is disabled.",
        "5.2.1",
        "soft",
        "suspend",
    ),
    ("550-5.4.5 Daily user sending quota exceeded.", "5.4.5", "soft", "speeding"),
    (
        "421-4.7.0 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail",
        "4.7.0",
        "block",
        "badreputation",
    ),
    (
        "554 delivery error: dd This user doesn't have a yahoo.com account",
        "5.0.0",
        "hard",
        "userunknown",
    ),
    (
        "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in "
        "Spamhaus's list",
        "5.7.1",
        "block",
        "blocked",
    ),
    (
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
        "Internet service provider since part of their network is on our block list (S3140).",
        "5.7.1",
        "block",
        "blocked",
    ),
    (
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        "5.4.1",
        "hard",
        "userunknown",
    ),
    (
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        "5.1.10",
        "hard",
        "userunknown",
    ),
    (
        "550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification",
        "5.7.509",
        "block",
        "authfailure",
    ),
    ("554 5.4.14 Hop count exceeded - possible mail loop", "5.4.14", "soft", "networkerror"),
    (
        "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown in local recipient "
        "table",
        "5.1.1",
        "hard",
        "userunknown",
    ),
    ("554 5.7.1 <a@example.org>: Relay access denied", "5.7.1", "soft", "norelaying"),
    (
        "Host or domain name not found. Name service error for name=example.invalid type=A: "
        "Host not found",
        "5.4.4",
        "hard",
        "hostunknown",
    ),
    ("550 Unrouteable address", None, "hard", "hostunknown"),
    ("retry timeout exceeded", None, "soft", "expired"),
    ("Sorry, no mailbox here by that name. (#5.1.1)", None, "hard", "userunknown"),
    (
        "Sorry, I couldn't find any host named example.invalid. (#5.1.2)",
        None,
        "hard",
        "hostunknown",
    ),
    (
        "The users mailfolder is over the allowed quota (size). (#5.2.2)",
        None,
        "soft",
        "mailboxfull",
    ),
    ("Connected to 192.0.2.1 but sender was rejected.", None, "block", "rejected"),
    ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", None, "hard", "userunknown"),
    ("552 5.3.4 Message size exceeds fixed limit", "5.3.4", "soft", "mesgtoobig"),
    (
        "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]",
        "4.7.1",
        "block",
        "requireptr",
    ),
    ("550 Benutzer unbekannt", None, "hard", "userunknown"),
    ("552 Postfach voll", None, "soft", "mailboxfull"),
    ("550 Utilisateur inconnu", None, "hard", "userunknown"),
    ("550 Boîte aux lettres pleine", None, "soft", "mailboxfull"),
]


@pytest.mark.parametrize(("text", "status", "category", "reason"), WELL_KNOWN_REPLIES)
def test_well_known_replies(text, status, category, reason):
    """Scenario: replies that Gmail, Yahoo, Microsoft, Postfix, Exim and qmail really send."""
    v = _verdict(text, status)
    assert (v.category.value, v.reason.value) == (category, reason), v.rule


def test_refusal_of_mail_from_is_never_hard():
    """Scenario: "unknown user"/"domain not found" answered to MAIL FROM is about the sender."""
    for text in ("553 5.1.8 Domain not found", "550 5.1.1 User unknown"):
        v = _verdict(text, None, command="MAIL")
        assert (v.category, v.reason) == (Category.BLOCK, Reason.REJECTED), text


def test_refusal_at_greeting_is_never_hard():
    """Scenario: a 5xx to EHLO naming an "invalid domain" refuses our host, not the recipient."""
    v = _verdict("501 5.5.2 Invalid domain name in HELO", None, command="EHLO")
    assert v.category is Category.BLOCK


MORE_REPLIES = [
    (
        "550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to send email "
        "directly to our servers. Please use the SMTP relay at your service provider instead.",
        "5.7.1",
        "block",
        "blocked",
    ),
    (
        "421-4.7.0 [192.0.2.1] Our system has detected that this message is suspicious due to the "
        "nature of the content and/or the links within.",
        "4.7.0",
        "block",
        "spamdetected",
    ),
    (
        "550-5.7.1 Messages missing a valid address in From: header, or having no From: header, "
        "are not accepted.",
        "5.7.1",
        "soft",
        "notcompliantrfc",
    ),
    ("550 5.1.1 <a@example.net> Not our Customer", "5.1.1", "hard", "userunknown"),
    ("551 not our customer", None, "hard", "hasmoved"),
    ("550 5.7.27 Sender address has null MX", "5.7.27", "block", "rejected"),
    (
        "cannot update mailbox /var/mail/a for user a. error writing message: File too large",
        None,
        "soft",
        "mailboxfull",
    ),
    ("451 Internal resource temporarily unavailable", None, "soft", "systemerror"),
    (
        "Host or domain name not found. Name service error for name=example.org type=MX: "
        "Host not found, try again",
        "4.4.3",
        "soft",
        "networkerror",
    ),
    ("Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", None, "hard", "notaccept"),
    (
        "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, "
        "closing transmission channel",
        "4.3.2",
        "soft",
        "toomanyconn",
    ),
    (
        "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
        "5.7.708",
        "block",
        "blocked",
    ),
    ("550 5.1.8 Access denied, bad outbound sender. AS(42004)", "5.1.8", "block", "rejected"),
    ("553 Relaying disallowed", None, "soft", "norelaying"),
    ("Connected to 192.0.2.1 but my name was rejected.", None, "block", "blocked"),
    (
        "550 5.1.1 RCP-P2 Refused due to recipient preferences",
        "5.1.1",
        "soft",
        "filtered",
    ),
    ("450 4.0.0 Temporary failure", "4.0.0", "soft", "onhold"),
    ("554 5.7.9 Header error", "5.7.9", "block", "policyviolation"),
    ("422 The recipient's mailbox is over its storage limit", None, "soft", "mailboxfull"),
    ("550 5.7.1 Mail from 192.0.2.1 refused: listed in RBL", "5.7.1", "block", "blocked"),
    ("550 Sender address is blocked", None, "block", "rejected"),
    ("550 Denied by policy, blocked IP", None, "block", "blocked"),
    ("554 5.7.1 You are not allowed to connect.", "5.7.1", "block", "blocked"),
    (
        "550 5.7.1 Messages with attachments of this type are not accepted",
        "5.7.1",
        "block",
        "policyviolation",
    ),
    (
        "554 5.7.0 Reject, id=12345-01 - BANNED: P=p003,L=1,M=multipart/mixed",
        "5.7.0",
        "block",
        "policyviolation",
    ),
    ("550 5.7.1 <a@example.org>... Unauthorized relay", "5.7.1", "soft", "norelaying"),
    ("message has lines too long for transport", None, "soft", "contenterror"),
    ("mail forwarding loop for a@example.org", None, "soft", "networkerror"),
    ("550 5.2.1 This mailbox has been blocked due to inactivity", "5.2.1", "soft", "suspend"),
    ("452 Insufficient mailbox space for user", None, "soft", "mailboxfull"),
    ("550 5.7.1 Mailbox has exceeded the limit", "5.7.1", "soft", "mailboxfull"),
    ("550 5.7.0 Sender address does not pass verification", "5.7.0", "block", "rejected"),
    (
        "552-5.7.0 Our system detected an illegal attachment on this message.",
        "5.7.0",
        "block",
        "policyviolation",
    ),
    ("550 5.7.1 Message contains unacceptable attachment", "5.7.1", "block", "policyviolation"),
    ("550 5.7.1 Rejected", "5.7.1", "block", "securityerror"),
    (
        "550 5.7.1 Messages missing a valid Message-ID header are not accepted",
        "5.7.1",
        "soft",
        "notcompliantrfc",
    ),
    ("452 4.4.5 Insufficient disk space; try again later", "4.4.5", "soft", "systemfull"),
    ("450 4.7.1 You have exceeded your messaging limits", "4.7.1", "soft", "speeding"),
    (
        "553 Sorry, your envelope sender is in my badmailfrom list (#5.7.1)",
        None,
        "block",
        "rejected",
    ),
    ("550 We do not accept mail from dynamic IPs", None, "block", "blocked"),
    (
        "550 5.7.1 Mail from IP 192.0.2.1 was rejected due to listing in Spamhaus SBL",
        "5.7.1",
        "block",
        "blocked",
    ),
    ("550 Sender IP address rejected", None, "block", "blocked"),
    ("550 Sorry, your remotehost looks suspiciously like spammer", None, "block", "blocked"),
    (
        "450 4.2.121 Recipient's per hour message receive limit from specific sender exceeded",
        "4.2.121",
        "soft",
        "speeding",
    ),
]


# Replies of mail systems absent from the development corpus, and notices' own words in
# other languages (Chinese, Korean, Japanese webmail; content filters; appliances).
OTHER_SYSTEMS_REPLIES = [
    (
        "550 Ip frequency limited. http://service.mail.qq.com/cgi-bin/help",
        None,
        "soft",
        "toomanyconn",
    ),
    ("550 Domain frequency limited", None, "soft", "toomanyconn"),
    (
        "554 5.7.0 Your message could not be sent. The limit on the number of allowed outgoing"
        " messages was exceeded",
        "5.7.0",
        "soft",
        "speeding",
    ),
    ("실패 사유: 받는 사람의 메일 주소가 존재하지 않습니다.", None, "hard", "userunknown"),
    ("실패 사유: 받는 사람의 메일함 용량이 초과되었습니다.", None, "soft", "mailboxfull"),
    ("Error: No valid recipients for this MM", None, "hard", "userunknown"),
    ("*** Error: no MX or A records found for [example.net]", None, "hard", "hostunknown"),
    (
        "The message could not be delivered because the domain name (example.net) does not"
        " appear to be registered.",
        None,
        "hard",
        "hostunknown",
    ),
    ("BANNED CONTENTS ALERT: banned name: .exe,invoice.exe", None, "block", "policyviolation"),
    ("宛先が見つかりません", None, "hard", "userunknown"),
    ("理由：メールボックスの容量を超えています。", None, "soft", "mailboxfull"),
    ("El buzón del destinatario está lleno", None, "soft", "mailboxfull"),
    ("La casella del destinatario è piena", None, "soft", "mailboxfull"),
    ("Schránka je plná", None, "soft", "mailboxfull"),
    ("Posta kutusu dolu", None, "soft", "mailboxfull"),
    ("Destinatario desconocido", None, "hard", "userunknown"),
    ("Destinatário desconhecido", None, "hard", "userunknown"),
    ("Adresát neexistuje", None, "hard", "userunknown"),
    ("Адресат не найден", None, "hard", "userunknown"),
    ("Nie ma takiego użytkownika", None, "hard", "userunknown"),
    ("사용자를 찾을 수 없습니다", None, "hard", "userunknown"),
    (
        "Unable to deliver message to user@example.net: Maximum database size quota has been"
        " exceeded",
        None,
        "soft",
        "mailboxfull",
    ),
    ("550 5.7.1 Sending quota has been exceeded", "5.7.1", "soft", "speeding"),
]


@pytest.mark.parametrize(("text", "status", "category", "reason"), OTHER_SYSTEMS_REPLIES)
def test_other_systems_replies(text, status, category, reason):
    """Scenario: replies and notices of systems the development corpus does not show."""
    v = _verdict(text, status)
    assert (v.category.value, v.reason.value) == (category, reason), v.rule


@pytest.mark.parametrize(("text", "status", "category", "reason"), MORE_REPLIES)
def test_more_well_known_replies(text, status, category, reason):
    """Scenario: further replies that Gmail, Comcast, Postfix and Mimecast really send."""
    v = _verdict(text, status)
    assert (v.category.value, v.reason.value) == (category, reason), v.rule


def test_refusals_of_our_helo_are_never_hard():
    """Scenario: a HELO/EHLO refusal mentioning "host not found" concerns our host: a block."""
    for text in (
        "550 5.7.1 <mta.example.net>: Helo command rejected: Host not found",
        "550 Invalid HELO domain",
    ):
        assert _verdict(text, "5.7.1").category is Category.BLOCK, text


def test_delay_while_unreachable_is_expiring_deferral():
    """Scenario: a delay notice whose cause is a server that cannot be reached is a deferral
    with reason expired; a delay with a reply from the server keeps that reply's reason."""
    v = _verdict(
        "The recipient server did not accept our requests to connect. [mx.example.org: timed out]",
        None,
        Action.DELAYED,
    )
    assert (v.category, v.reason) == (Category.DEFERRAL, Reason.EXPIRED)
    v = _verdict("452 4.2.2 Mailbox full", "4.2.2", Action.DELAYED)
    assert (v.category, v.reason) == (Category.DEFERRAL, Reason.MAILBOX_FULL)


def test_too_many_invalid_recipients_is_a_block_not_an_unknown_user():
    """Scenario: a host refused for sending to many invalid recipients is blocked; the words
    "invalid recipients" there say nothing about this recipient, so never hard."""
    text = "550 5.7.1 Connection refused - <192.0.2.1> - Too many invalid recipients"
    v = _verdict(text, "5.7.1")
    assert (v.category, v.reason) == (Category.BLOCK, Reason.BLOCKED)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550 5.1.0 Sender address does not exist", None),
        ("550 5.1.8 Sender domain example.com does not exist", None),
        ("550 5.7.1 Envelope from address is unknown", None),
        ("501 5.1.7 Invalid address", "5.1.7"),
        ("550 The sender's domain does not exist", None),
        ("550 Return path address does not exist", None),
        ("550 5.1.1 Sorry, your email address is unknown to us", "5.1.1"),
        ("550 5.7.1 Access denied: your account does not exist on this relay", "5.7.1"),
        ("550 L'expéditeur n'existe pas", None),
        ("550 Absender unbekannt", None),
        ("550 El remitente no existe", None),
        ("550 BATV failed to verify", None),
        ("550 Null sender is not allowed", None),
        ("550 Returned mail not accepted here", None),
        ("554 Message rejected: Email address is not verified.", None),
        ("550 Envelope blocked - User Entry", None),
    ],
)
def test_sender_side_nonexistence_is_never_hard(text, status):
    """Scenario: words saying the SENDER's address or domain does not exist (or a 5.1.7/5.1.8
    code, which RFC 3463 gives to the sender's address) refuse the sender: block, never hard."""
    v = _verdict(text, status)
    assert (v.category, v.reason) == (Category.BLOCK, Reason.REJECTED), v.rule


def test_words_about_our_host_or_lists_are_never_hard():
    """Scenario: 'does not exist' said of our HELO name or of an entry in the receiver's own
    allow list refuses the sending side; it is not an unknown recipient domain."""
    for text in (
        "550 5.1.1 The domain of your HELO does not exist",
        "554 5.7.1 Your domain is not allowed: domain example.com does not exist in our whitelist",
    ):
        assert _verdict(text, None).category is not Category.HARD, text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("550 Gebruiker onbekend", "userunknown"),
        ("550 Użytkownik nie istnieje", "userunknown"),
        ("550 Användaren finns inte", "userunknown"),
        ("550 Brugeren findes ikke", "userunknown"),
        ("550 Нет такого пользователя", "userunknown"),
        ("550 收件人不存在", "userunknown"),
        ("552 Das Postfach des Empfängers ist voll", "mailboxfull"),
        ("552 Почтовый ящик переполнен", "mailboxfull"),
        ("552 邮箱已满", "mailboxfull"),
        ("552 Skrzynka pełna", "mailboxfull"),
        ("該当するユーザーは存在しません", "userunknown"),
        ("メールボックスの容量が一杯です", "mailboxfull"),
        ("受信拒否設定によりメールを送信できません", "filtered"),
        ("メールのサイズが大きすぎます", "mesgtoobig"),
    ],
)
def test_more_languages(text, reason):
    """Scenario: unknown-user, mailbox-full, refusal and size replies in Dutch, Polish, Swedish,
    Danish, Russian, Chinese, Japanese and German word orders are read without a status code."""
    assert _verdict(text, None).reason.value == reason


def test_a_host_not_accepting_messages_is_never_hard():
    """Scenario: a server that accepts no messages for now ("554 ... not accepting messages",
    X.3.2) says nothing about the address: soft notaccept; RFC 7504's 521 stays hard."""
    for text, status in (
        ("554 mx.example.org ESMTP not accepting messages", None),
        ("554 5.3.2 Requested action not taken", "5.3.2"),
    ):
        v = _verdict(text, status)
        assert (v.category, v.reason) == (Category.SOFT, Reason.NOT_ACCEPT), text
    v = _verdict("521 5.3.2 mx.example.org does not accept mail", "5.3.2")
    assert (v.category, v.reason) == (Category.HARD, Reason.NOT_ACCEPT)


def test_failure_without_ever_reaching_the_server_is_expired():
    """Scenario: a failed notice whose only cause is that the server was never reached
    (timed out, refused, unreachable) failed because the retries ran out: soft/expired;
    the same words from a local delivery program stay a mailer error."""
    for text in (
        "connect to mx.example.org[192.0.2.25]:25: Connection timed out",
        "421 Host not reachable.",
        "connect to mx.example.org[192.0.2.25]:25: No route to host",
    ):
        v = _verdict(text, None)
        assert (v.category, v.reason) == (Category.SOFT, Reason.EXPIRED), text
    v = _verdict("x-unix; ERROR: cannot connect to the ticket database", "5.3.0")
    assert v.reason is Reason.MAILER_ERROR


@pytest.mark.parametrize(
    "text",
    [
        "550 Address not present in directory",
        "550 a@example.org is not an active address at this host",
        "550 No mailbox by that name is currently available",
        "550 Nessun utente simile in questo indirizzo",
        "550 No existe ese usuario",
        "550 There is no one at this address",
        "vdelivermail: invalid or unknown virtual user 'a'",
        "553 sorry, this recipient is not in my validrcptto list (#5.7.1)",
    ],
)
def test_more_unknown_user_phrasings_are_hard(text):
    """Scenario: further ways real servers (directories, vpopmail, qmail rcpt lists, Italian
    and Spanish servers) say the mailbox does not exist are hard/userunknown."""
    v = _verdict(text, None)
    assert (v.category, v.reason) == (Category.HARD, Reason.USER_UNKNOWN), v.rule


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("552 Boite du destinataire pleine", "mailboxfull"),
        ("552 Recipient rejected: mailbox would exceed maximum allowed storage", "mailboxfull"),
        ("550 Boite du destinataire archivee", "suspend"),
        ("550 Recipient address rejected: temporarily inactive", "suspend"),
        ("550 Domain mentioned in email address is unknown", "hostunknown"),
        ("550 Recipient domain must exist", "hostunknown"),
        ("552 Max message size exceeded", "mesgtoobig"),
        ("552 Taille limite du message atteinte", "mesgtoobig"),
        ("550 Blacklisted URL in message", "spamdetected"),
        ("550 URL in content failed reputation check", "spamdetected"),
        ("550 Because the recipient is not accepting mail with attachments", "policyviolation"),
        ("550 Message bounced due to organizational settings", "policyviolation"),
    ],
)
def test_more_reason_phrasings(text, reason):
    """Scenario: further real phrasings of full and archived mailboxes, unknown domains,
    oversized messages and listed links in the content get their reasons."""
    assert _verdict(text, None).reason.value == reason


def test_remembered_rule_selection_gives_the_verdicts_of_the_full_pass():
    """Scenario: the rules picked once per (action, hint, status, code, command) decide every
    sample and well-known reply as trying all rules in order does (a copy of RULES is not
    remembered), also with a status too long to remember."""
    deliveries = [_sample_delivery(rule) for rule in RULES]
    deliveries += [
        Delivery(recipient="user@example.com", action=Action.FAILED, status=status, diagnostic=t)
        for t, status, *_ in WELL_KNOWN_REPLIES + MORE_REPLIES
    ]
    deliveries.append(Delivery(recipient="u@example.com", status="5.1.1" + " " * 80))
    for delivery in deliveries:
        facts = facts_of(delivery)
        assert classify_facts(facts) == classify_facts(facts, rules=tuple(RULES)), delivery


def test_no_filed_substring_contains_another():
    """Scenario: a rule never tests a substring that contains another substring it tests
    (the longer one's patterns are filed under the shorter one)."""
    for rule in RULES:
        keys = [literal for literal, _ in rule.by_literal]
        for key in keys:
            assert not [k for k in keys if k != key and k in key], (rule.id, key)


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.1.1 <bounces@example.com>: User unknown (in reply to MAIL FROM command)",
        "550 No such user here (in reply to MAIL FROM command)",
    ],
)
def test_reply_naming_mail_from_refuses_the_sender(reply):
    """Scenario: a diagnostic that says it answered MAIL FROM (no session account beside
    it) is about the sender, so "user unknown" in it unsubscribes no recipient."""
    verdict = classify(
        Delivery(recipient="user@example.net", action=Action.FAILED, diagnostic=reply)
    )
    assert verdict.category is Category.BLOCK
    assert verdict.reason is Reason.REJECTED
