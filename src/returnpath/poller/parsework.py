"""What a parse worker process runs (see runner._Parsers).

Kept apart from the runner, behind a package __init__ that imports nothing eagerly, so that a
worker started with "spawn" imports the parsers alone: not storage, SQLAlchemy or imapclient.
It is then ready in about a third of the time, and the poller parses fewer batches itself
while it waits.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading

from returnpath.model import MessageKind, ParseResult, compress_raw
from returnpath.parsers import ParseOptions, parse


def safe_parse(data: bytes, options: ParseOptions) -> ParseResult:
    """parse(), which is documented never to raise; a bug in one format must still not stop
    the poll."""
    try:
        return parse(data, options)
    except Exception as exc:
        return ParseResult(kind=MessageKind.UNKNOWN, defects=(f"parse error: {exc!r}",))


def parse_all(
    datas: list[bytes], options: ParseOptions, compress: bool = False
) -> list[tuple[ParseResult, bytes | None]]:
    """What a parse worker runs for a slice of a batch: each message's result and, when the
    store keeps raw bytes (`compress`), the bytes compressed as it keeps them, which spares
    that CPU to the recording process, the busier of the two."""
    return [
        (safe_parse(data, options), compress_raw(data) if compress else None) for data in datas
    ]


def worker_started() -> None:
    # The service's own SIGINT/SIGTERM handling finishes the batch; a signal sent to the
    # whole process group must not kill the parsers under it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # A poller killed outright (SIGKILL, OOM) cannot shut its pool down: a worker would wait
    # for work forever, holding the poller's stdout and stderr open.
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)
