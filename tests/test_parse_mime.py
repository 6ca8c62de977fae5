"""parsers/mime.py builds the stdlib feed parser's tree: the same for real, damaged and odd mail.

Every test compares the whole tree (headers as stored, payloads, preambles, epilogues,
default types and defects with their arguments) against `email.message_from_bytes`.
"""

from __future__ import annotations

import email
import email.message
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returnpath.parsers import mime
from returnpath.parsers.mbox import split_mbox
from returnpath.parsers.message import content_charset, normalise_newlines

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_MESSAGES = [
    normalise_newlines(m)
    for p in sorted(FIXTURES_DIR.rglob("*"))
    if p.is_file() and p.suffix != ".json"
    for m in split_mbox(p.read_bytes())
]

Tree = list[tuple[object, ...]]


def tree(msg: email.message.Message) -> Tree:
    """Everything the parser decides about each part, in walk order."""
    out: Tree = []
    for part in msg.walk():
        payload = part._payload
        out.append(
            (
                list(part._headers),
                part._unixfrom,
                payload if isinstance(payload, str) else len(payload or ()),
                part.preamble,
                part.epilogue,
                [(type(d).__name__, d.args) for d in part.defects],
                part._default_type,
                part._charset,
            )
        )
    return out


def assert_same_tree(raw: bytes) -> None:
    msg, parts = mime.parse_bytes(raw)
    assert tree(msg) == tree(email.message_from_bytes(raw))
    assert [(id(p), t) for p, t in parts] == [(id(p), p.get_content_type()) for p in msg.walk()]


def test_fixtures_parse_to_the_stdlib_tree() -> None:
    """Scenario: every fixture message (LF line endings, as Message hands them over)."""
    assert len(FIXTURE_MESSAGES) > 100
    for raw in FIXTURE_MESSAGES:
        assert_same_tree(raw)


MULTIPART = (
    b"From: a@example.com\n"
    b'Content-Type: multipart/report; boundary="b"\n'
    b"\n"
    b"preamble\n"
    b"--b\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"notice\n"
    b"\n"
    b"--b\n"
    b"Content-Type: message/delivery-status\n"
    b"\n"
    b"Reporting-MTA: dns; mx.example.com\n"
    b"\n"
    b"Final-Recipient: rfc822; x@example.net\n"
    b"Action: failed\n"
    b"\n"
    b"--b\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"Message-ID: <1@example.com>\n"
    b"Content-Type: multipart/alternative; boundary=c\n"
    b"\n"
    b"--c\n"
    b"\n"
    b"inner\n"
    b"--c--\n"
    b"inner epilogue\n"
    b"--b--\n"
    b"epilogue\n"
)

ODD_MESSAGES = [
    b"",
    b"\n",
    b"no header at all\n",
    b"Subject: x",
    b"Subject: x\n",
    b"Subject: x\nbody line, no blank line\n",
    b" continuation first\nSubject: x\n\nbody",
    b"From sender Mon Jan 1 00:00:00 2024\nSubject: x\n\nbody\n",
    b"Subject: x\nFrom sender in the middle\nTo: y\n\nbody\n",
    b"Subject: x\nFrom sender at the end\n\nbody\n",
    b"Subject: x\nFrom sender at the end\nbody\n",
    b":no name\nSubject: x\n\nbody\n",
    b"Subject: a\n  folded\n\t twice\nX-Empty:\nX-Spaces:   \n\nbody\n",
    b"Subject: \xe9t\xe9 8-bit\n\n\xff\xfe body\n",
    b"Content-Type: multipart/mixed\n\nno boundary parameter\n",
    b"Content-Type: multipart/mixed; boundary=b\n\nno boundary line at all\n",
    b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b--\nafter a close boundary first\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n--b--",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n--b--  \n\n\nepi\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n--b--\n\npart\n--b--\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n--b\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\npart\n--bx\n--b-- x\n--b--\n",
    b"Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n"
    b"--b\n\nx\n--b--\n",
    b"Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: digest\n\nx\n--b--\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; "
    b"boundary=b\n\n--b\n\ninner\n--b--\n--b--\n",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; "
    b"boundary=c\n\n--c\n\ninner, never closed\n--b\n\nnext\n--b--\n",
    b"Content-Type: message/delivery-status\n\nA: 1\n\n\n\nB: 2\nbase64line\n\nC: 3",
    b"Content-Type: message/delivery-status\n\n",
    b"Content-Type: message/rfc822\n\n",
    b"Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n",
    b"Content-Type: text\n\nmalformed content type\n",
    b"Content-type:  Text/HTML ; charset=x\n\nupper case, spaces\n",
    b"Content-Type: text/plain\xe9; charset=x\n\n8-bit content type\n",
    b'Content-Type: multipart/mixed; boundary="b\xe9"\n\n--b\xe9\n\n8-bit boundary\n--b\xe9--\n',
    b"Content-Type: a/b/c\n\ntwo slashes\n",
    MULTIPART,
]


@pytest.mark.parametrize("raw", ODD_MESSAGES)
def test_odd_messages_parse_to_the_stdlib_tree(raw: bytes) -> None:
    """Scenario: damaged headers, boundaries and nesting, each as the stdlib reads it."""
    assert_same_tree(raw)


def test_carriage_returns_and_deep_nesting_go_to_the_stdlib() -> None:
    """Scenario: CRLF text and nesting past the limit are left to the stdlib, same tree."""
    assert_same_tree(MULTIPART.replace(b"\n", b"\r\n"))
    deep = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(60)
    )
    with pytest.raises(mime._Unusual):
        mime._Parser(deep.decode("ascii")).parse()
    assert_same_tree(deep)


def test_string_input_matches_the_stdlib() -> None:
    """Scenario: message_from_string (the returned original's text) gives the stdlib's tree."""
    text = MULTIPART.decode("ascii") + "Subject: é\n"
    assert tree(mime.message_from_string(text)) == tree(email.message_from_string(text))


#: Lines that steer random input into the parser's paths.
LINES = [
    b"Content-Type: multipart/mixed; boundary=b",
    b"Content-Type: multipart/report; boundary=c",
    b"Content-Type: message/delivery-status",
    b"Content-Type: message/rfc822",
    b"Content-Type: multipart/digest; boundary=d",
    b"Content-Transfer-Encoding: base64",
    b"--b",
    b"--b--",
    b"--c",
    b"--c--",
    b"--d",
    b"--d--",
    b"From someone",
    b" continued",
    b":x",
    b"Subject: s",
    b"",
    b"",
    b"body text",
]

MIME_INPUT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@MIME_INPUT
@given(st.lists(st.sampled_from(LINES), max_size=40), st.booleans())
def test_random_mime_structures_parse_to_the_stdlib_tree(lines: list[bytes], final: bool) -> None:
    """Scenario: random sequences of MIME header, boundary and body lines."""
    assert_same_tree(b"\n".join(lines) + (b"\n" if final else b""))


@MIME_INPUT
@given(
    st.sampled_from(FIXTURE_MESSAGES),
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(LINES)), max_size=4),
    st.integers(0, 100_000),
)
def test_damaged_fixtures_parse_to_the_stdlib_tree(
    raw: bytes, edits: list[tuple[int, bytes]], cut: int
) -> None:
    """Scenario: a fixture with lines replaced or inserted, truncated anywhere."""
    lines = raw.split(b"\n")
    for at, line in edits:
        if at % 2:
            lines[at % len(lines)] = line
        else:
            lines.insert(at % (len(lines) + 1), line)
    assert_same_tree(b"\n".join(lines)[:cut])


CONTENT_TYPES = [
    "text/plain",
    "text/plain; charset=us-ascii",
    'text/plain; charset="UTF-8"',
    "text/plain;\n\tcharset=iso-2022-jp; format=flowed",
    "text/plain; format=flowed",
    "text/plain; charset*=utf-8''ISO-8859-1",
    "text/plain; charset*0=utf; charset*1=-8",
    'text/plain; charset="a;b"; x=1',
    "text/plain; charset=<koi8-r>",
    "text/plain; charset=",
    "text/plain; CHARSET=Windows-1252",
    "text/plain; charset=caf\u00e9",
    "text/plain; charset=utf-8; charset=latin-1",
]


@pytest.mark.parametrize("value", CONTENT_TYPES)
def test_content_charset_answers_as_the_stdlib(value: str) -> None:
    """Scenario: the remembered charset of a Content-Type value is what the part would say."""
    part = email.message_from_string(f"Content-Type: {value}\n\nx\n")
    assert content_charset(part) == part.get_content_charset()
    assert content_charset(part) == part.get_content_charset()  # the remembered answer


def test_content_charset_of_8bit_and_missing_values() -> None:
    """Scenario: 8-bit Content-Type values and parts without one are asked directly."""
    for raw in (b"Content-Type: text/plain; charset=\xe9\n\nx\n", b"Subject: none\n\nx\n"):
        part = email.message_from_bytes(raw)
        assert content_charset(part) == part.get_content_charset()


BOUNDARY_VALUES = [
    'multipart/report; report-type=delivery-status;\n\tboundary="----=_Part_1.2"',
    "multipart/mixed; boundary=simple",
    "multipart/mixed;boundary=",
    'multipart/mixed; boundary=""',
    'multipart/mixed; boundary=" spaced \t "',
    "multipart/mixed; boundary=a b  ",
    "multipart/mixed; BOUNDARY = x; boundary=y",
    "multipart/mixed; boundary",
    "boundary=first; boundary=second",
    "multipart/mixed; boundary==_x=",
    'multipart/mixed; boundary="a;b"',
    'multipart/mixed; boundary="a\\"b"',
    "multipart/mixed; boundary=<abc>",
    "multipart/mixed; boundary*=utf-8''abc",
    "multipart/mixed; boundary*0=ab; boundary*1=c",
    'multipart/mixed; boundary="x" y',
    "multipart/mixed",
]

#: Characters that steer parameter parsing (quotes, separators, RFC 2231 marks, spaces).
PARAM_ALPHABET = st.sampled_from([*'ab=;" *<>\\\t\n', "boundary", "Boundary"])


def assert_same_boundary(value: str) -> None:
    msg = email.message_from_string(f"Content-Type: {value}\n\n")
    assert mime._boundary(msg) == msg.get_boundary(), value


@pytest.mark.parametrize("value", BOUNDARY_VALUES)
def test_boundary_parameter_as_the_stdlib_reads_it(value: str) -> None:
    """Scenario: plain, quoted, repeated, empty and RFC 2231 boundary parameters."""
    assert_same_boundary(value)


@MIME_INPUT
@given(st.lists(PARAM_ALPHABET, max_size=30).map("".join))
def test_random_boundary_parameters_as_the_stdlib_reads_them(params: str) -> None:
    """Scenario: random Content-Type parameter strings give the stdlib's boundary."""
    assert_same_boundary("multipart/mixed;" + params)
    assert_same_boundary(params)


def test_a_failure_of_the_fast_parser_falls_back_to_the_stdlib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scenario: the fast parser breaks on some message (any error): the stdlib's tree comes
    back instead, and parse() still gives that message its verdicts."""
    from returnpath.parsers import parse

    raw = next(m for m in FIXTURE_MESSAGES if b"message/delivery-status" in m)
    expected = parse(raw)
    assert expected.deliveries

    def broken(self: object) -> email.message.Message:
        raise IndexError("a case the fast parser gets wrong")

    monkeypatch.setattr(mime._Parser, "parse", broken)
    root, parts = mime.parse_bytes(raw)
    assert tree(root) == tree(email.message_from_bytes(raw))
    assert [ctype for _, ctype in parts] == [p.get_content_type() for p in root.walk()]
    assert tree(mime.message_from_string(raw.decode("ascii", "surrogateescape"))) == tree(root)
    assert parse(raw) == expected
