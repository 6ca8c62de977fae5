"""The `report` command's numbers: category counts and shares, unsubscribes, block-heavy
receiving domains, and the same counts broken down by one dimension.

Counts cover trusted events only (untrusted ones are reported as a single number), in the
half-open range [since, until) of the time each returned mail arrived.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from returnpath.model import Category, MessageKind
from returnpath.storage.recorder import events, history, messages
from returnpath.storage.tables import HistoryChange

#: The order categories are listed in.
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)


class GroupBy(StrEnum):
    DAY = "day"
    WEEK = "week"
    DOMAIN = "domain"
    REASON = "reason"
    CATEGORY = "category"
    CAMPAIGN = "campaign"
    SOURCE = "source"


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: str
    count: int
    share: float  # of all trusted events in the range, 0..1


@dataclass(frozen=True, slots=True)
class DomainBlocks:
    domain: str
    blocks: int
    events: int
    block_rate: float  # blocks / events to that domain


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    counts: dict[str, int]  # category -> count (categories with zero are omitted)
    total: int


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime | None
    until: datetime | None
    by: GroupBy | None
    total: int
    untrusted: int
    messages: int  # returned mails that arrived in the range
    unrecognised: int  # of which nothing was recognised (kept for review)
    categories: tuple[CategoryCount, ...]
    unsubscribes: dict[str, int]  # reason -> contacts unsubscribed in the range
    top_block_domains: tuple[DomainBlocks, ...]
    groups: tuple[Group, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "by": self.by.value if self.by else None,
            "total": self.total,
            "untrusted": self.untrusted,
            "messages": self.messages,
            "unrecognised": self.unrecognised,
            "categories": [
                {"category": c.category, "count": c.count, "share": round(c.share, 4)}
                for c in self.categories
            ],
            "unsubscribes": dict(self.unsubscribes),
            "top_block_domains": [
                {
                    "domain": d.domain,
                    "blocks": d.blocks,
                    "events": d.events,
                    "block_rate": round(d.block_rate, 4),
                }
                for d in self.top_block_domains
            ],
            "groups": [
                {"key": g.key, "total": g.total, "counts": dict(g.counts)} for g in self.groups
            ],
        }


def _range(
    column: Any, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def _day_expression(conn: Connection) -> ColumnElement[str]:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", events.c.occurred_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", events.c.occurred_at)  # stored as naive UTC


def _iso_week(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def build_report(
    conn: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: GroupBy | str | None = None,
    top_domains: int = 10,
) -> Report:
    group_by = GroupBy(by) if by is not None else None
    in_range = _range(events.c.occurred_at, since, until)
    trusted = [*in_range, events.c.trusted.is_(True)]

    per_category: dict[str, int] = {
        str(category): int(n)
        for category, n in conn.execute(
            select(events.c.category, func.count()).where(*trusted).group_by(events.c.category)
        ).all()
    }
    total = sum(per_category.values())
    untrusted = conn.execute(
        select(func.count()).select_from(events).where(*in_range, events.c.trusted.is_(False))
    ).scalar_one()
    categories = tuple(
        CategoryCount(
            cat, int(per_category.get(cat, 0)), per_category.get(cat, 0) / total if total else 0.0
        )
        for cat in CATEGORIES
    )

    unsubscribes = {
        str(reason): int(n)
        for reason, n in conn.execute(
            select(history.c.reason, func.count())
            .where(
                history.c.change == HistoryChange.UNSUBSCRIBED.value,
                *_range(history.c.at, since, until),
            )
            .group_by(history.c.reason)
            .order_by(history.c.reason)
        ).all()
    }

    blocks = func.sum(case((events.c.category == Category.BLOCK.value, 1), else_=0))
    domain_rows = conn.execute(
        select(events.c.domain, blocks.label("blocks"), func.count().label("events"))
        .where(*trusted, events.c.domain.is_not(None))
        .group_by(events.c.domain)
        .having(blocks > 0)
        .order_by(blocks.desc(), events.c.domain)
        .limit(top_domains)
    ).all()
    top = tuple(
        DomainBlocks(r.domain, int(r.blocks), int(r.events), int(r.blocks) / int(r.events))
        for r in domain_rows
    )

    arrived = func.coalesce(messages.c.received_at, messages.c.recorded_at)
    message_counts = conn.execute(
        select(
            func.count(),
            func.sum(case((messages.c.kind == MessageKind.UNKNOWN.value, 1), else_=0)),
        ).where(*_range(arrived, since, until))
    ).one()

    groups: tuple[Group, ...] = ()
    if group_by is not None:
        groups = _groups(conn, group_by, trusted)
    return Report(
        since=since,
        until=until,
        by=group_by,
        total=total,
        untrusted=int(untrusted),
        messages=int(message_counts[0] or 0),
        unrecognised=int(message_counts[1] or 0),
        categories=categories,
        unsubscribes=unsubscribes,
        top_block_domains=top,
        groups=groups,
    )


def _groups(conn: Connection, by: GroupBy, where: list[ColumnElement[bool]]) -> tuple[Group, ...]:
    key: ColumnElement[Any]
    if by in (GroupBy.DAY, GroupBy.WEEK):
        key = _day_expression(conn)
    else:
        key = {
            GroupBy.DOMAIN: events.c.domain,
            GroupBy.REASON: events.c.reason,
            GroupBy.CATEGORY: events.c.category,
            GroupBy.CAMPAIGN: events.c.campaign,
            GroupBy.SOURCE: events.c.source,
        }[by]
    rows = conn.execute(
        select(key.label("key"), events.c.category, func.count())
        .where(*where)
        .group_by(key, events.c.category)
    ).all()
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for group_key, category, n in rows:
        label = "(none)" if group_key is None else str(group_key)
        if by is GroupBy.WEEK and group_key is not None:
            label = _iso_week(str(group_key))
        table[label][category] += int(n)
    result = [
        Group(label, {c: counts[c] for c in CATEGORIES if counts.get(c)}, sum(counts.values()))
        for label, counts in table.items()
    ]
    if by in (GroupBy.DAY, GroupBy.WEEK):
        result.sort(key=lambda g: g.key)
    else:
        result.sort(key=lambda g: (-g.total, g.key))
    return tuple(result)
