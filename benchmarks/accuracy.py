"""Accuracy of returnpath's classifier against a labelled corpus (format: shared corpus README).

    python benchmarks/accuracy.py CORPUS_DIR [--misses] [--json] [--floors benchmarks/floors.json]
                                             [--disputed benchmarks/disputed-labels.jsonl]

Verdicts are matched to labels by recipient address within a file (mbox files are split into
their messages first); a label with no matching verdict counts as wrong on every measure.
With --floors, exits 1 when any figure falls below the recorded floor (a ratchet: raise the
floors as results improve, never lower them). With --disputed (JSON lines of {"class", "file",
"index"}: labels the classifier deliberately disagrees with, see benchmarks/LABELS.md), also
prints what each class of disputed labels costs on each figure, and the figures without them;
the floors are always checked against the full figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from returnpath.model import Category, Delivery
from returnpath.parsers import parse
from returnpath.parsers.mbox import split_mbox

NON_BOUNCE_LABELS = ("auto_reply", "delivered", "complaint")
MEASURES = ("recipient_recall", "hard_agreement", "category_agreement", "reason_agreement")


@dataclass
class Tally:
    labels: int = 0
    files: int = 0
    detected_files: int = 0
    recipients: int = 0
    hard: int = 0
    category: int = 0
    reason: int = 0
    false_hard: Counter[str] = field(default_factory=Counter)
    not_bounce_files: int = 0
    not_bounce_quiet: int = 0
    #: (label key or None, description) of every mismatch
    misses: list[tuple[tuple[str, int] | None, str]] = field(default_factory=list)
    #: (file, index) -> which measures the label got right, in the order of MEASURES
    outcomes: dict[tuple[str, int], tuple[bool, bool, bool, bool]] = field(default_factory=dict)

    def figures(self) -> dict[str, float | int]:
        def pct(n: int, d: int) -> float:
            return round(100.0 * n / d, 2) if d else 100.0

        out: dict[str, float | int] = {
            "labels": self.labels,
            "detection": pct(self.detected_files, self.files),
            "recipient_recall": pct(self.recipients, self.labels),
            "hard_agreement": pct(self.hard, self.labels),
            "category_agreement": pct(self.category, self.labels),
            "reason_agreement": pct(self.reason, self.labels),
            "false_hard_total": sum(self.false_hard.values()),
            "not_bounce_files_quiet": pct(self.not_bounce_quiet, self.not_bounce_files),
        }
        for kind in NON_BOUNCE_LABELS:
            out[f"false_hard_{kind}"] = self.false_hard[kind]
        return out


def load_labels(corpus: Path) -> dict[str, list[dict]]:
    by_file: dict[str, list[dict]] = {}
    with open(corpus / "labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                label = json.loads(line)
                by_file.setdefault(label["file"], []).append(label)
    return by_file


def deliveries_of(path: Path) -> list[Delivery]:
    found: list[Delivery] = []
    for raw in split_mbox(path.read_bytes()):
        found.extend(d for d in parse(raw).deliveries if d.verdict is not None)
    return found


def measure(corpus: Path) -> Tally:
    tally = Tally()
    for file, labels in sorted(load_labels(corpus).items()):
        deliveries = deliveries_of(corpus / file)
        recognised = [d for d in deliveries if d.verdict and d.verdict.category != Category.UNKNOWN]
        if not any(lab["expect_result"] for lab in labels):
            tally.not_bounce_files += 1
            tally.not_bounce_quiet += not any(
                d.verdict and d.verdict.category.is_bounce for d in recognised
            )
            if recognised:
                tally.misses.append((None, f"{file}: not a bounce, got {_show(recognised[0])}"))
            continue
        tally.files += 1
        tally.detected_files += bool(recognised)
        unused = list(recognised)
        for lab in sorted(labels, key=lambda x: x["index"]):
            tally.labels += 1
            want = (lab["recipient"] or "").lower()
            match = next((d for d in unused if (d.recipient or "").lower() == want), None)
            if match is None:
                tally.outcomes[(file, lab["index"])] = (False, False, False, False)
                got = ", ".join(_show(d) for d in recognised[:3]) or "nothing"
                tally.misses.append(
                    (
                        (file, lab["index"]),
                        f"{file}: {want} {lab['category']}/{lab['reason']}: "
                        f"no verdict for recipient (got {got})",
                    )
                )
                continue
            unused.remove(match)
            assert match.verdict is not None
            category, reason = match.verdict.category.value, match.verdict.reason.value
            tally.recipients += 1
            label_hard = bool(lab["hardbounce"])
            got_hard = category == Category.HARD
            tally.hard += label_hard == got_hard
            tally.category += category == lab["category"]
            tally.reason += reason == lab["reason"]
            tally.outcomes[(file, lab["index"])] = (
                True,
                label_hard == got_hard,
                category == lab["category"],
                reason == lab["reason"],
            )
            if got_hard and not label_hard:
                tally.false_hard[lab["category"]] += 1
            if category != lab["category"] or reason != lab["reason"]:
                agree = "" if lab["labels_agree_across_versions"] else " (label disputed)"
                tally.misses.append(
                    (
                        (file, lab["index"]),
                        f"{file}: {want} want {lab['category']}/{lab['reason']} "
                        f"[{lab['status']} {lab['replycode']}] got {_show(match)}{agree}",
                    )
                )
    return tally


def load_disputed(path: Path) -> dict[tuple[str, int], str]:
    """(file, index) -> class of the disputed labels listed in `path` (JSON lines)."""
    disputed: dict[tuple[str, int], str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            disputed[(entry["file"], int(entry["index"]))] = entry["class"]
    return disputed


def disputed_report(tally: Tally, disputed: dict[tuple[str, int], str]) -> str:
    """What each class of disputed labels costs on each figure, and the figures without them."""

    def pct(n: int, d: int) -> str:
        return f"{100.0 * n / d:.2f}%" if d else "-"

    total = len(tally.outcomes)
    by_class: dict[str, list[tuple[bool, bool, bool, bool]]] = {}
    kept: list[tuple[bool, bool, bool, bool]] = []
    for key, outcome in tally.outcomes.items():
        cls = disputed.get(key)
        if cls is None:
            kept.append(outcome)
        else:
            by_class.setdefault(cls, []).append(outcome)
    head = ["recipient", "hard", "category", "reason"]
    lines = [f"{'disputed class':30} {'labels':>6} " + " ".join(f"{h:>9}" for h in head)]
    for cls, outcomes in sorted(by_class.items()):
        wrong = [sum(not o[i] for o in outcomes) for i in range(len(MEASURES))]
        # a wrong label costs 100/total points of its figure
        lines.append(
            f"{cls:30} {len(outcomes):6} "
            + " ".join(f"{w:4} {100.0 * w / total:4.1f}" for w in wrong)
        )
    lines.append("(each cell: labels wrong on that figure, and the percentage points they cost)")
    lines.append("")
    lines.append(f"without disputed labels ({len(kept)} of {total} labels):")
    for i, name in enumerate(MEASURES):
        lines.append(f"{name:26} {pct(sum(o[i] for o in kept), len(kept))}")
    return "\n".join(lines)


def _show(d: Delivery) -> str:
    v = d.verdict
    head = f"{v.category}/{v.reason} rule={v.rule}" if v else "unclassified"
    diag = (d.diagnostic or "")[:90]
    return f"{head} [{d.status or ''} {d.reply_code or ''}] {d.format} {diag!r}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--misses", action="store_true", help="list every mismatch")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--floors", type=Path, help="JSON of minimum figures; exit 1 below any")
    ap.add_argument(
        "--disputed", type=Path, help="JSON lines of disputed labels; report their cost"
    )
    args = ap.parse_args(argv)
    tally = measure(args.corpus)
    figures = tally.figures()
    disputed = load_disputed(args.disputed) if args.disputed else {}
    if args.misses:
        for key, line in tally.misses:
            cls = disputed.get(key) if key else None
            print(f"{line} [disputed: {cls}]" if cls else line)
        print()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            unit = "%" if isinstance(value, float) else ""
            print(f"{key:26} {value}{unit}")
    if args.disputed:
        print()
        print(disputed_report(tally, disputed))
    if args.floors:
        floors = json.loads(args.floors.read_text())
        failed = []
        for key, floor in floors.items():
            value = figures[key]
            # false_hard_* are ceilings (fewer is better); every other figure is a floor.
            bad = value > floor if key.startswith("false_hard") else value < floor
            if bad:
                failed.append(f"{key}: {value} against the recorded {floor}")
        if failed:
            print("accuracy below the recorded floors:\n  " + "\n  ".join(failed), file=sys.stderr)
            return 1
        print(f"all {len(floors)} recorded floors met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
