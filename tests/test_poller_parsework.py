"""What a parse worker imports and runs."""

from __future__ import annotations

import ast
import subprocess
import sys
import zlib
from importlib.metadata import entry_points

from returnpath.model import MessageKind, compress_raw
from returnpath.parsers import ParseOptions
from returnpath.poller import parsework


def loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after running `statement`."""
    probe = (
        f"import sys\n{statement}\n"
        f"print([m for m in {modules!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return list(ast.literal_eval(done.stdout.strip()))


def test_a_worker_imports_the_parsers_and_nothing_of_storage_or_imap() -> None:
    """Scenario: a spawned parse worker loads parsework: no SQLAlchemy, storage or imapclient."""
    heavy = ("sqlalchemy", "imapclient", "returnpath.storage", "returnpath.poller.runner")
    loaded = loaded_after("import returnpath.poller.parsework", (*heavy, "returnpath.parsers"))
    assert loaded == ["returnpath.parsers"]


def test_the_package_names_still_resolve() -> None:
    """Scenario: `from returnpath.poller import ...` gives the classes of their own modules."""
    from returnpath.poller import ImapMailbox, PollerError, run_mailbox
    from returnpath.poller.imap import ImapMailbox as Imap
    from returnpath.poller.mailbox import PollerError as Error
    from returnpath.poller.runner import run_mailbox as run

    assert (ImapMailbox, PollerError, run_mailbox) == (Imap, Error, run)


def test_parse_all_never_raises() -> None:
    """Scenario: bytes no format knows still give one result per message, in order."""
    results = parsework.parse_all([b"", b"Subject: hello\r\n\r\nnot a bounce\r\n"], ParseOptions())
    assert [(r.kind, compressed) for r, compressed in results] == [
        (MessageKind.UNKNOWN, None), (MessageKind.UNKNOWN, None)
    ]


def test_parse_all_compresses_for_the_store_when_asked() -> None:
    """Scenario: with compress on, each message comes back with its bytes as the store keeps
    them (compress_raw), which give the message back."""
    data = b"Subject: hello\r\n\r\n" + b"not a bounce\r\n" * 50
    [(result, compressed)] = parsework.parse_all([data], ParseOptions(), True)
    assert result.kind is MessageKind.UNKNOWN
    assert compressed == compress_raw(data) and zlib.decompress(compressed) == data


def test_the_console_script_imports_the_command_line_only_when_it_runs() -> None:
    """Scenario: the installed `returnpath` script imports returnpath.__main__, which loads
    nothing heavy: a spawned parse worker re-imports that script before it can parse."""
    [script] = [e for e in entry_points(group="console_scripts") if e.name == "returnpath"]
    assert script.value == "returnpath.__main__:main"
    heavy = ("typer", "sqlalchemy", "returnpath.cli", "returnpath.parsers")
    assert loaded_after("from returnpath.__main__ import main", heavy) == []
