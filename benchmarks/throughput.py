"""Throughput of parse() over a corpus, side by side with flufl.bounce in the same run.

    python benchmarks/throughput.py CORPUS_DIR [--rounds 3] [--sisimai]

Reads every file under CORPUS_DIR/emails (or CORPUS_DIR) into memory once, then times, per
round: returnpath's parse() on every message, and flufl.bounce's all_failures() on the same
messages (stdlib email parsing included, as a user of it would run it). Prints files/s for
each, the best round, and the ratio, with the machine's load average before and after (other
work on the machine changes the figures; the ratio, measured in the same run, less so). With
--sisimai (needs `apt-get install libsisimai-perl`), also times Sisimai over the same files as
a whole process, for scale; returnpath never calls it.
"""

from __future__ import annotations

import argparse
import email
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flufl.bounce import all_failures

from returnpath.parsers import parse
from returnpath.parsers.mbox import split_mbox


def load(corpus: Path) -> tuple[list[Path], list[bytes]]:
    root = corpus / "emails" if (corpus / "emails").is_dir() else corpus
    files = sorted(p for p in root.rglob("*") if p.is_file())
    messages = [m for p in files for m in split_mbox(p.read_bytes())]
    return files, messages


def rate(func: object, messages: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for raw in messages:
            func(raw)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return len(messages) / best


def flufl(raw: bytes) -> object:
    # flufl.bounce raises on some real mail (IndexError in its Yale detector on an empty
    # From); a caller has to catch, so the catch is part of its cost.
    try:
        return all_failures(email.message_from_bytes(raw))
    except Exception:
        return None


def sisimai_rate(files: list[Path]) -> float | None:
    """Whole-process files/s of Sisimai over copies of the files in one Maildir-like folder."""
    if shutil.which("perl") is None:
        return None
    probe = subprocess.run(["perl", "-MSisimai", "-e", "1"], capture_output=True)
    if probe.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            (Path(tmp) / f"{i:05d}.eml").write_bytes(path.read_bytes())
        script = "use Sisimai; my $v = Sisimai->make($ARGV[0]); print scalar(@{$v || []}), qq(\\n);"
        start = time.perf_counter()
        subprocess.run(["perl", "-e", script, tmp], check=True, capture_output=True)
        return len(files) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sisimai", action="store_true", help="also time Sisimai (whole process)")
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # flufl.bounce logs a traceback for each detector error
    files, messages = load(args.corpus)
    size = sum(map(len, messages))
    print(f"corpus: {len(files)} files, {len(messages)} messages, {size / 1e6:.1f} MB")
    load_before = os.getloadavg()[0]
    ours = rate(parse, messages, args.rounds)
    theirs = rate(flufl, messages, args.rounds)
    print(f"returnpath parse():        {ours:9.0f} messages/s")
    print(f"flufl.bounce all_failures: {theirs:9.0f} messages/s")
    print(f"ratio returnpath/flufl:    {ours / theirs:9.2f}")
    print(f"load average (1 min):      {load_before:9.2f} before, {os.getloadavg()[0]:.2f} after")
    if args.sisimai:
        sis = sisimai_rate(files)
        if sis is None:
            print("sisimai: not installed (apt-get install libsisimai-perl)")
        else:
            print(f"Sisimai (whole process):   {sis:9.0f} files/s")
            print(f"ratio returnpath/Sisimai:  {ours / sis:9.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS:                  {peak:9.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
