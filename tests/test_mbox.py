"""Splitting mbox files into messages."""

from returnpath.parsers.mbox import is_mbox, split_mbox

MBOX = (
    b"From MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n"
    b"Subject: one\n\nbody one\n>From the start\n"
    b"From double-bounce@example.com  Thu Jul  2 12:05:06 2020\n"
    b"Subject: two\n\nbody two\n"
)


def test_two_messages_without_blank_separator() -> None:
    """Scenario: an mbox whose second From_ line follows the body directly still splits in two."""
    messages = split_mbox(MBOX)
    assert [m.split(b"\n", 1)[0] for m in messages] == [b"Subject: one", b"Subject: two"]
    assert b"\nFrom the start\n" in messages[0]


def test_cr_only_mbox_splits_the_same() -> None:
    """Scenario: an mbox with CR-only line endings gives the same messages as with LF."""
    assert split_mbox(MBOX.replace(b"\n", b"\r")) == split_mbox(MBOX)


def test_plain_message_is_one_message() -> None:
    """Scenario: a single .eml (no From_ line) is returned whole, whatever its body says."""
    raw = b"Subject: hi\n\nFrom me to you, Mon at 10:00\n"
    assert not is_mbox(raw)
    assert split_mbox(raw) == [raw]


def test_cr_only_mbox_file_is_read_as_its_messages(tmp_path) -> None:
    """Scenario: backfill's file walker reads a CR-only mbox file as two messages, not one."""
    from returnpath.poller.files import FilesMailbox

    path = tmp_path / "old-mac.mbox"
    path.write_bytes(MBOX.replace(b"\n", b"\r"))
    subjects = [m.data.split(b"\r\n", 1)[0] for m in FilesMailbox([path]).fetch_new()]
    assert subjects == [b"Subject: one", b"Subject: two"]
