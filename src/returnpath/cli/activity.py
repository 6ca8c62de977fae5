"""`returnpath feed`, `returnpath report` and `returnpath suppressions export`."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from returnpath.cli.app import app, fail, suppressions_app
from returnpath.cli.options import (
    config_option,
    database_option,
    open_store_from_cli,
    when_option_value,
)
from returnpath.cli.output import cell, print_table
from returnpath.model import Category

SINCE_HELP = "From this time: 2026-11-01, 2026-11-01T08:30, or back from now: 30m, 24h, 7d, 2w."


class FeedFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class ReportBy(StrEnum):
    DAY = "day"
    WEEK = "week"
    DOMAIN = "domain"
    REASON = "reason"
    CATEGORY = "category"
    CAMPAIGN = "campaign"
    SOURCE = "source"


@app.command("feed")
def feed_command(
    contact: Annotated[
        str | None, typer.Option("--contact", help="Only this address.", show_default=False)
    ] = None,
    category: Annotated[
        Category | None,
        typer.Option("--category", help="Only this category.", show_default=False),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
    output: Annotated[FeedFormat, typer.Option("--format", help="table or jsonl.")] = (
        FeedFormat.TABLE
    ),
    database: database_option = None,
    config: config_option = None,
) -> None:
    """The activity feed: recorded events, newest first, each with its reason and rule.

    The message column is the id for `returnpath messages show` (`-` for an expired deferral).
    """
    since_at = when_option_value(since, "--since")
    store = open_store_from_cli(config, database)
    try:
        entries = store.feed(
            contact=contact,
            category=category.value if category else None,
            since=since_at,
            limit=limit,
        )
    finally:
        store.close()
    if output is FeedFormat.JSONL:
        for entry in entries:
            typer.echo(json.dumps(entry.as_dict(), ensure_ascii=False))
        return
    print_table(
        None,
        ["occurred", "recipient", "category", "reason", "rule", "status", "source", "trusted",
         "message"],
        [
            (e.occurred_at, e.recipient, e.category, e.reason, e.rule, e.status, e.source,
             "yes" if e.trusted else "no", e.message_id)
            for e in entries
        ],
    )  # fmt: skip
    if not entries:
        typer.echo("no events", err=True)


@app.command("report")
def report_command(
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to (not including) this time; as --since.")
    ] = None,
    by: Annotated[
        ReportBy | None,
        typer.Option("--by", help="Also break the counts down by this.", show_default=False),
    ] = None,
    output: Annotated[ReportFormat, typer.Option("--format", help="table, csv or json.")] = (
        ReportFormat.TABLE
    ),
    database: database_option = None,
    config: config_option = None,
) -> None:
    """Counts per category and their shares, unsubscribes, and the domains with most blocks."""
    since_at = when_option_value(since, "--since")
    until_at = when_option_value(until, "--until")
    if since_at and until_at and since_at >= until_at:
        raise fail("--since must be before --until", 2)
    store = open_store_from_cli(config, database)
    try:
        report = store.report(since=since_at, until=until_at, by=by.value if by else None)
    finally:
        store.close()
    if output is ReportFormat.JSON:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    if output is ReportFormat.CSV:
        _report_csv(report)
        return
    span = f"{cell(report.since) if report.since else 'the beginning'} to " + (
        cell(report.until) if report.until else "now"
    )
    typer.echo(
        f"Report from {span}: {report.messages} returned messages "
        f"({report.unrecognised} unrecognised), {report.total} events"
        + (f" ({report.untrusted} untrusted, not counted)" if report.untrusted else "")
    )
    print_table(
        "Categories",
        ["category", "events", "share"],
        [(c.category, c.count, c.share) for c in report.categories],
    )
    print_table(
        "Unsubscribed",
        ["reason", "contacts"],
        sorted(report.unsubscribes.items()) or [("(none)", 0)],
    )
    print_table(
        "Receiving domains with the most blocks",
        ["domain", "blocks", "events", "block rate"],
        [(d.domain, d.blocks, d.events, d.block_rate) for d in report.top_block_domains],
    )
    if report.by is not None:
        categories = [c.category for c in report.categories if c.count]
        print_table(
            f"By {report.by.value}",
            [report.by.value, "total", *categories],
            [(g.key, g.total, *(g.counts.get(c, 0) for c in categories)) for g in report.groups],
        )


def _report_csv(report: object) -> None:
    from returnpath.storage.reports import CATEGORIES, Report

    assert isinstance(report, Report)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if report.by is None:
        writer.writerow(["category", "events", "share"])
        for c in report.categories:
            writer.writerow([c.category, c.count, f"{c.share:.4f}"])
        return
    writer.writerow([report.by.value, "total", *CATEGORIES])
    for g in report.groups:
        writer.writerow([g.key, g.total, *(g.counts.get(c, 0) for c in CATEGORIES)])


@suppressions_app.command("export")
def export_command(
    output: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl.")] = (
        ExportFormat.CSV
    ),
    database: database_option = None,
    config: config_option = None,
) -> None:
    """Every unsubscribed address with its reason and time, for the sending side to load."""
    store = open_store_from_cli(config, database)
    try:
        rows = store.suppressions()
    finally:
        store.close()
    if output is ExportFormat.JSONL:
        for row in rows:
            typer.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["address", "reason", "unsubscribed_at", "replaced_by"])
    for row in rows:
        data = row.as_dict()
        writer.writerow([data["address"], data["reason"], data["unsubscribed_at"] or "",
                         data["replaced_by"] or ""])  # fmt: skip
