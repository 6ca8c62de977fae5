"""Recording throughput: messages/s that Store.record() writes into SQLite and PostgreSQL.

    python benchmarks/record.py CORPUS_DIR [--count 2000] [--batch 100] [--pg-url URL] [--no-pg]

Reads every message under CORPUS_DIR/emails (or CORPUS_DIR; mbox files are split), parses
each once (not timed), then replays them round-robin until --count messages were recorded,
each with a distinct mailbox key and a distinct first header line so that its sha256 differs
(a replay of the same bytes would be a duplicate, which records nothing). Timed separately:
the same messages recorded a second time (the duplicate path a restarted poll takes), and the
same workload recorded by Store.record_many() in batches of --batch messages (one transaction
per batch, as the poller does) into a second, fresh database.

PostgreSQL: --pg-url (a database it may fill), else a throw-away server started as in the
tests (initdb/pg_ctl as the `postgres` user, 127.0.0.1, a free port, stopped by PID), else
skipped with the reason. The machine's other load changes msg/s; the CPU time this process
spent per message is steadier. Peak memory: tracemalloc's peak of Python allocations while
recording each corpus message once more (an untimed pass), and the process's maximum
resident set size.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from returnpath.model import ParseResult, RawMessage
from returnpath.parsers import parse
from returnpath.parsers.mbox import split_mbox
from returnpath.storage import open_store
from support.pg_fixtures import PgServer, create_database, pg_unavailable_reason


def load(corpus: Path) -> list[bytes]:
    root = corpus / "emails" if (corpus / "emails").is_dir() else corpus
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return [m for p in files for m in split_mbox(p.read_bytes())]


def workload(
    messages: list[bytes], count: int, first: int = 0
) -> list[tuple[RawMessage, ParseResult]]:
    parsed = [parse(m) for m in messages]
    items = []
    for n in range(first, first + count):
        i = n % len(messages)
        data = f"X-Returnpath-Bench: {n}\r\n".encode() + messages[i]
        raw = RawMessage("bench", "INBOX", 1, n + 1, data)
        items.append((raw, parsed[i]))
    return items


def measure_batches(url: str, items: list[tuple[RawMessage, ParseResult]], batch: int) -> str:
    store = open_store(url)
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        created = 0
        for k in range(0, len(items), batch):
            created += sum(getattr(o, "created", False)
                           for o in store.record_many(items[k : k + batch]))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        start = time.perf_counter()
        for k in range(0, len(items), batch):
            store.record_many(items[k : k + batch])
        again = time.perf_counter() - start
    finally:
        store.close()
    assert created == len(items), f"{created} of {len(items)} created"
    return (f"{len(items) / elapsed:6.0f} msg/s recorded ({1000 * cpu / len(items):.2f} ms CPU/msg)"
            f"   {len(items) / again:8.0f} msg/s duplicates   in batches of {batch}")


def measure(
    url: str,
    items: list[tuple[RawMessage, ParseResult]],
    memory_items: list[tuple[RawMessage, ParseResult]],
) -> dict[str, float]:
    store = open_store(url)
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        events = unsubscribed = 0
        for raw, result in items:
            outcome = store.record(raw, result)
            events += outcome.events
            unsubscribed += len(outcome.unsubscribed)
        first = time.perf_counter() - start
        cpu = time.process_time() - cpu
        start = time.perf_counter()
        for raw, result in items:
            # A restarted poll meets the same mailbox keys again.
            assert not store.record(raw, result).created
        again = time.perf_counter() - start
        # Memory on a separate, untimed pass: tracemalloc slows every allocation.
        tracemalloc.start()
        for raw, result in memory_items:
            store.record(raw, result)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        store.close()
    return {
        "rate": len(items) / first,
        "cpu_ms": 1000 * cpu / len(items),
        "dup_rate": len(items) / again,
        "events": events,
        "unsubscribed": unsubscribed,
        "peak_mib": peak / 2**20,
    }


def report(name: str, numbers: dict[str, float], count: int) -> None:
    print(
        f"{name:<11} {numbers['rate']:6.0f} msg/s recorded "
        f"({numbers['cpu_ms']:.1f} ms CPU/msg in this process)   "
        f"{numbers['dup_rate']:8.0f} msg/s duplicates   "
        f"{int(numbers['events'])} events, {int(numbers['unsubscribed'])} unsubscribes "
        f"from {count} messages   tracemalloc peak {numbers['peak_mib']:.1f} MiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--count", type=int, default=2000, help="messages recorded per backend")
    parser.add_argument("--batch", type=int, default=100, help="messages per record_many()")
    parser.add_argument("--pg-url", help="PostgreSQL database URL to fill (default: throw-away)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()

    messages = load(args.corpus)
    if not messages:
        print(f"no messages under {args.corpus}", file=sys.stderr)
        return 2
    items = workload(messages, args.count)
    memory_items = workload(messages, len(messages), first=args.count)
    recognised = sum(1 for _, r in items if r.recognised)
    print(f"corpus: {len(messages)} messages, replayed as {len(items)} "
          f"({recognised} recognised), python {sys.version.split()[0]}")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="returnpath-bench-") as tmp:
        report("sqlite", measure(f"sqlite:///{tmp}/bench.db", items, memory_items), len(items))
        print(f"{'sqlite':<11} {measure_batches(f'sqlite:///{tmp}/batch.db', items, args.batch)}")

    if not args.no_pg:
        if args.pg_url:
            report("postgresql", measure(args.pg_url, items, memory_items), len(items))
        elif reason := pg_unavailable_reason():
            print(f"postgresql  skipped: {reason}")
        else:
            server = PgServer().start()
            try:
                url = create_database(server.url(), "returnpath_bench")
                report("postgresql", measure(url, items, memory_items), len(items))
                url = create_database(server.url(), "returnpath_bench_batch")
                print(f"{'postgresql':<11} {measure_batches(url, items, args.batch)}")
            finally:
                server.stop()

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max resident set size of this process: {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
