"""Poller throughput: N returned messages in a local Dovecot, one `poll --once` into SQLite.

    python benchmarks/poller.py [--messages 10000] [--corpus DIR] [--batch-size 100] [--keep]

Starts a private Dovecot on 127.0.0.1 (the test suite's helper, so it needs root and the
dovecot binary), MULTIAPPENDs N corpus messages to INBOX, each given a distinct Message-ID,
measures a bare FETCH of them all (BODY.PEEK[], batches of --batch-size), then runs
`returnpath poll --once` in a child process started as the installed console script starts
it (which is what parse workers re-import): parse, record into a fresh SQLite file, move to
Processed / Unparsed. Reports messages per second end to end (the child's wall time, start-up
included), the ratio to the bare FETCH, the child's peak RSS (VmHWM) and, apart, the largest
peak RSS among its own children (the parse workers).
Targets: >= 1,000 messages/s and < 200 MB.

To show where the time goes it also measures, on the same messages: parse() alone, recording
alone (into other SQLite files; Store.record() per message, and Store.record_many() in batches
of --batch-size as the poll does), and the poller's own machinery (search, fetch, runner loop,
MOVE) with parse and record replaced by no-ops, over a second copy of the messages.
The machine's load average is printed with the figures: other work on it changes them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.dovecot import DovecotServer, dovecot_binary  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "sisimai-dev" / "emails"

_MESSAGE_ID = re.compile(rb"^Message-ID:[^\n]*\n(?:[ \t][^\n]*\n)*", re.I | re.M)

# The poll runs from a script shaped like the installed `returnpath` console script (a
# parse worker started with "spawn" re-imports the script that started its parent), with
# its CPU time and peak memory printed on the way out.
_CHILD = """\
import sys
from returnpath.__main__ import main
if __name__ == "__main__":
  try:
    main()
  finally:
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("CPU_S", own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime, file=sys.stderr)
    with open("/proc/self/status") as fh:
        hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    print("CHILDREN_MAXRSS_KB", kids.ru_maxrss, file=sys.stderr)
    print("MAXRSS_KB", hwm, file=sys.stderr)
"""


def load_corpus(corpus: Path) -> list[bytes]:
    files = sorted(p for p in corpus.rglob("*.eml") if p.is_file())
    if not files:
        raise SystemExit(f"no .eml files under {corpus}")
    return [p.read_bytes() for p in files]


def with_message_id(raw: bytes, n: int) -> bytes:
    """The message with its top-level Message-ID replaced by a distinct one."""
    head, sep, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw[:65536] else (
        raw.partition(b"\r\n\r\n")
    )
    newline = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    head = _MESSAGE_ID.sub(b"", head.replace(b"\r\n", b"\n") + b"\n").rstrip(b"\n")
    head = head.replace(b"\n", newline) if newline == b"\r\n" else head
    new_id = f"Message-ID: <bench-{n}@poller.returnpath.test>".encode()
    return new_id + newline + head + (sep or newline * 2) + body


def bare_fetch(server: DovecotServer, batch: int) -> tuple[int, float]:
    with server.client() as c:
        c.select_folder("INBOX", readonly=True)
        uids = sorted(c.search("ALL"))
        started = time.perf_counter()
        fetched = 0
        for k in range(0, len(uids), batch):
            fetched += len(c.fetch(uids[k : k + batch], ["BODY.PEEK[]"]))
        return fetched, time.perf_counter() - started


class NullStore:
    """record() that writes nothing: isolates the poller's own cost."""

    def record(self, raw: object, result: object) -> object:
        return None

    def record_many(self, items: list[object]) -> list[object]:
        return [None] * len(items)

    def checkpoint(self, source: str, folder: str) -> None:
        return None

    def is_recorded(self, *args: object) -> bool:
        return False


def null_poll(server: DovecotServer, folder: str, batch: int) -> tuple[int, float]:
    from returnpath.config import MailboxConfig
    from returnpath.model import MessageKind, ParseResult
    from returnpath.poller import runner
    from returnpath.poller.imap import ImapMailbox

    runner.parse = lambda raw, options=None: ParseResult(kind=MessageKind.DSN)  # type: ignore
    settings = server.mailbox_settings("none", name="null", batch_size=batch, folder=folder,
                                       processed_folder=f"{folder}-done",
                                       unparsed_folder=f"{folder}-unparsed")
    store = NullStore()
    started = time.perf_counter()
    with ImapMailbox(MailboxConfig(**settings), store) as box:
        summary = runner.run_mailbox(box, store, parse_workers=0)
    return summary.seen, time.perf_counter() - started


def parse_and_record_rates(
    messages: list[bytes], work: Path, batch: int
) -> tuple[float, float, float]:
    from returnpath.model import RawMessage
    from returnpath.parsers import parse
    from returnpath.storage import open_store

    sample = messages[: min(len(messages), 2000)]
    started = time.perf_counter()
    results = [parse(m) for m in sample]
    parse_rate = len(sample) / (time.perf_counter() - started)
    store = open_store(f"sqlite:///{work / 'record-only.db'}")
    started = time.perf_counter()
    for uid, (m, r) in enumerate(zip(sample, results, strict=True), 1):
        store.record(RawMessage("record-only", "INBOX", 1, uid, m), r)
    record_rate = len(sample) / (time.perf_counter() - started)
    store.close()
    store = open_store(f"sqlite:///{work / 'record-many.db'}")
    items = [(RawMessage("record-many", "INBOX", 1, uid, m), r)
             for uid, (m, r) in enumerate(zip(sample, results, strict=True), 1)]
    started = time.perf_counter()
    for k in range(0, len(items), batch):
        store.record_many(items[k : k + batch])
    many_rate = len(sample) / (time.perf_counter() - started)
    store.close()
    return parse_rate, record_rate, many_rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    if not dovecot_binary() or os.geteuid() != 0:
        raise SystemExit("needs the dovecot binary and root (see RECIPES.md §1)")

    work = Path(tempfile.mkdtemp(prefix="rp-bench-poller-"))
    server = DovecotServer(work / "imap")
    server.start()
    try:
        corpus = load_corpus(args.corpus)
        messages = [with_message_id(corpus[i % len(corpus)], i) for i in range(args.messages)]
        total_bytes = sum(len(m) for m in messages)
        started = time.perf_counter()
        server.append_many("INBOX", messages)
        append_s = time.perf_counter() - started
        server.append_many("Copy", messages)
        parse_rate, record_rate, many_rate = parse_and_record_rates(
            messages, work, args.batch_size
        )
        del messages
        fetched, fetch_s = bare_fetch(server, args.batch_size)
        null_seen, null_s = null_poll(server, "Copy", args.batch_size)

        db = work / "bench.db"
        config = work / "returnpath.toml"
        settings = server.mailbox_settings("none", name="bench", batch_size=args.batch_size)
        config.write_text(
            "[[mailbox]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
        )
        script = work / "returnpath"
        script.write_text(_CHILD)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(script), "poll", "--once", "--config", str(config),
             "--database", f"sqlite:///{db}"],
            capture_output=True, text=True,
        )
        poll_s = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            raise SystemExit(f"poll failed with exit code {done.returncode}")
        maxrss_kb = int(done.stderr.strip().splitlines()[-1].split()[1])
        children_kb = int(done.stderr.strip().splitlines()[-2].split()[1])
        cpu_line = next(line for line in done.stderr.splitlines() if line.startswith("CPU_S"))
        cpu_main, cpu_workers = (float(x) for x in cpu_line.split()[1:])
        poll_line = next(
            (line for line in done.stderr.splitlines() if " event=poll " in line), ""
        )
        inner = dict(
            kv.split("=", 1) for kv in poll_line.split() if "=" in kv and not kv.startswith("ts=")
        )
        left = len(server.uids("INBOX"))
        moved = len(server.uids("Processed")) + len(server.uids("Unparsed"))
    finally:
        server.stop()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)

    figures = {
        "messages": args.messages,
        "megabytes": round(total_bytes / 1e6, 1),
        "append_msgs_per_s": round(args.messages / append_s),
        "bare_fetch_msgs_per_s": round(fetched / fetch_s),
        "poll_wall_s": round(poll_s, 2),
        "poll_msgs_per_s": round(args.messages / poll_s),
        "poll_msgs_per_s_inside": round(args.messages / float(inner.get("seconds", "nan"))),
        "ratio_to_bare_fetch": round((args.messages / poll_s) / (fetched / fetch_s), 3),
        "poll_cpu_ms_per_msg": round(1000 * cpu_main / args.messages, 3),
        "workers_cpu_ms_per_msg": round(1000 * cpu_workers / args.messages, 3),
        "peak_rss_mb": round(maxrss_kb / 1024, 1),
        "workers_peak_rss_mb": round(children_kb / 1024, 1),
        "parse_only_msgs_per_s": round(parse_rate),
        "record_only_msgs_per_s": round(record_rate),
        "record_many_msgs_per_s": round(many_rate),
        "poller_alone_msgs_per_s": round(null_seen / null_s),
        "recorded": int(inner.get("recorded", -1)),
        "unparsed": int(inner.get("unparsed", -1)),
        "left_in_inbox": left,
        "moved": moved,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
        ok = figures["poll_msgs_per_s"] >= 1000 and figures["peak_rss_mb"] < 200
        print(f"{'targets':>24}: {'met' if ok else 'NOT met'} (>= 1000 msg/s, < 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
