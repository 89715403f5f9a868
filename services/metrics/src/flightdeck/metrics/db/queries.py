"""Reading the projections: DORA inputs, drill-down pages, the event log and its status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Select, Text, and_, case, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ColumnElement

from flightdeck.metrics.db.tables import (
    commit_leads,
    daily_deployments,
    deployment_commits,
    deployments,
    environment_tiers,
    event_log,
    health_failures,
    service_teams,
)
from flightdeck.metrics.domain.dora import DayCount, DoraInput, Filters, Recovery, Window
from flightdeck.metrics.domain.instants import DAY_US

d = deployments
f = health_failures
T = TypeVar("T")


def _deployment_filter(filters: Filters, table: Any = d) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [table.c.environment_tier == filters.environment_tier]
    if filters.services:
        conditions.append(table.c.service.in_(filters.services))
    if filters.teams:
        conditions.append(table.c.team.in_(filters.teams))
    return conditions


def _failure_filter(filters: Filters) -> list[ColumnElement[bool]]:
    """Failures in the tier's environments, of the services (or the teams' services)."""
    tiers = select(environment_tiers.c.environment).where(
        environment_tiers.c.environment_tier == filters.environment_tier
    )
    conditions: list[ColumnElement[bool]] = [f.c.environment.in_(tiers)]
    if filters.services:
        conditions.append(f.c.service.in_(filters.services))
    if filters.teams:
        owned = select(service_teams.c.service).where(service_teams.c.team.in_(filters.teams))
        conditions.append(f.c.service.in_(owned))
    return conditions


async def dora_input(reader: AsyncEngine, window: Window, filters: Filters) -> DoraInput:
    """Daily counts, commit lead times and recoveries inside `window`, each in time order;
    the three reads run side by side, each on a connection of its own."""

    async def read(query: Callable[[AsyncConnection, Window, Filters], Awaitable[T]]) -> T:
        async with reader.connect() as conn:
            return await query(conn, window, filters)

    days, (lead_times, leads), recoveries = await asyncio.gather(
        read(_day_counts), read(_leads), read(_recoveries)
    )
    return DoraInput(days=days, lead_times=lead_times, leads=leads, recoveries=recoveries)


async def _day_counts(conn: AsyncConnection, window: Window, filters: Filters) -> list[DayCount]:
    """Whole days from the daily rollups; partial days at the window's edges from the
    deployments themselves."""
    first_whole = -(-window.start_us // DAY_US)
    end_whole = window.end_us // DAY_US
    counts: list[DayCount] = []
    if first_whole < end_whole:
        r = daily_deployments
        rollups = (
            select(r.c.day, func.sum(r.c.deployments), func.sum(r.c.rework), func.sum(r.c.failed))
            .where(r.c.day >= first_whole, r.c.day < end_whole, *_deployment_filter(filters, r))
            .group_by(r.c.day)
        )
        counts += [DayCount(*row) for row in await conn.execute(rollups)]
        edges = [
            (window.start_us, first_whole * DAY_US),
            (end_whole * DAY_US, window.end_us),
        ]
    else:
        edges = [(window.start_us, window.end_us)]
    for start, end in edges:
        if start < end:
            counts += await _partial_days(conn, start, end, filters)
    return sorted(counts, key=lambda count: count.day)


async def _partial_days(
    conn: AsyncConnection, start_us: int, end_us: int, filters: Filters
) -> list[DayCount]:
    rework = or_(d.c.is_rollback.is_(True), d.c.is_unplanned.is_(True))
    query = (
        select(
            d.c.finished_day,
            func.count(),
            func.sum(case((rework, 1), else_=0)),
            func.sum(case((d.c.failure_rule.is_not(None), 1), else_=0)),
        )
        .where(
            d.c.succeeded.is_(True),
            d.c.finished_us >= start_us,
            d.c.finished_us < end_us,
            *_deployment_filter(filters),
        )
        .group_by(d.c.finished_day)
    )
    return [DayCount(*row) for row in await conn.execute(query)]


def _lead_column(filters: Filters) -> Any:
    c = commit_leads.c
    return c.lead_merged_us if filters.lead_time_start == "merged" else c.lead_authored_us


async def _leads(
    conn: AsyncConnection, window: Window, filters: Filters
) -> tuple[list[int], list[int]]:
    """First deployment times and lead times of the commits, in time order. On PostgreSQL
    they come back as two arrays in one row (read in index order, so the aggregate needs no
    sort): thousands of rows decode much faster that way."""
    lead = _lead_column(filters)
    at = commit_leads.c.deployed_us
    chosen = [
        at >= window.start_us,
        at < window.end_us,
        lead > 0,
        *_deployment_filter(filters, commit_leads),
    ]
    if conn.dialect.name == "postgresql":
        ordered = select(at.label("at"), lead.label("lead")).where(*chosen).order_by(at).subquery()
        arrays = select(func.array_agg(ordered.c.at), func.array_agg(ordered.c.lead))
        times, leads = (await conn.execute(arrays)).one()
        times, leads = list(times or []), list(leads or [])
        if any(later < earlier for earlier, later in pairwise(times)):
            # PostgreSQL keeps a sorted subquery's order in practice, not by contract.
            pairs = sorted(zip(times, leads, strict=True))
            times, leads = [at for at, _ in pairs], [lead for _, lead in pairs]
        return times, leads
    rows = (await conn.execute(select(at, lead).where(*chosen).order_by(at))).all()
    return [row[0] for row in rows], [row[1] for row in rows]


async def _recoveries(conn: AsyncConnection, window: Window, filters: Filters) -> list[Recovery]:
    query = (
        select(f.c.detected_us, f.c.recovered_us)
        .where(
            f.c.kind == "health_check",
            f.c.detected_us >= window.start_us,
            f.c.detected_us < window.end_us,
            *_failure_filter(filters),
        )
        .order_by(f.c.detected_us)
    )
    return [Recovery(row[0], row[1]) for row in await conn.execute(query)]


# --- drill-down ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeploymentRow:
    """A counted deployment with its commits (and whether each counted for lead time) and
    the failures attributed to it."""

    deployment: dict[str, Any]
    commits: list[dict[str, Any]]
    failures: list[dict[str, Any]]

    @property
    def key(self) -> tuple[int, str]:
        """Its sort key: finish time, then id."""
        return self.deployment["finished_us"], self.deployment["deployment_id"]


async def deployment_page(
    conn: AsyncConnection,
    window: Window,
    filters: Filters,
    after: tuple[int, str] | None,
    limit: int,
) -> list[DeploymentRow]:
    """Counted deployments in `window` by finish time, after the cursor key."""
    query = select(d).where(
        d.c.succeeded.is_(True),
        d.c.finished_us >= window.start_us,
        d.c.finished_us < window.end_us,
        *_deployment_filter(filters),
    )
    if after is not None:
        query = query.where(_after(d.c.finished_us, d.c.deployment_id, after))
    query = query.order_by(d.c.finished_us, d.c.deployment_id).limit(limit)
    rows = [dict(row._mapping) for row in await conn.execute(query)]
    ids = [row["deployment_id"] for row in rows]
    commits = await _commits_of(conn, ids, filters)
    failures = await _failures_of(conn, ids)
    return [
        DeploymentRow(
            row, commits.get(row["deployment_id"], []), failures.get(row["deployment_id"], [])
        )
        for row in rows
    ]


def _after(time: Any, ident: Any, after: tuple[int, str]) -> ColumnElement[bool]:
    return or_(time > after[0], and_(time == after[0], ident > after[1]))


async def _commits_of(
    conn: AsyncConnection, ids: Sequence[str], filters: Filters
) -> dict[str, list[dict[str, Any]]]:
    c, lead = deployment_commits, commit_leads
    query = (
        select(c, lead.c.deployment_id.label("counted_in"), _lead_column(filters).label("lead_us"))
        .select_from(
            c.join(d, d.c.deployment_id == c.c.deployment_id).outerjoin(
                lead,
                and_(
                    lead.c.environment_tier == d.c.environment_tier,
                    lead.c.repo == c.c.repo,
                    lead.c.sha == c.c.sha,
                ),
            )
        )
        .where(c.c.deployment_id.in_(ids))
        .order_by(c.c.repo, c.c.sha)
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in await conn.execute(query):
        grouped.setdefault(row.deployment_id, []).append(dict(row._mapping))
    return grouped


async def _failures_of(
    conn: AsyncConnection, ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    query = (
        select(f.c.failure_id, f.c.kind, f.c.rule)
        .where(f.c.deployment_id.in_(ids), f.c.rule.is_not(None))
        .order_by(f.c.rule_rank, f.c.failure_id)
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in await conn.execute(query.add_columns(f.c.deployment_id)):
        grouped.setdefault(row.deployment_id, []).append(dict(row._mapping))
    return grouped


async def failure_page(
    conn: AsyncConnection,
    window: Window,
    filters: Filters,
    after: tuple[int, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Failures (detected health checks and rollbacks) in `window` by time, after the cursor."""
    query = select(f).where(
        f.c.occurred_us >= window.start_us,
        f.c.occurred_us < window.end_us,
        *_failure_filter(filters),
    )
    if after is not None:
        query = query.where(_after(f.c.occurred_us, f.c.failure_id, after))
    query = query.order_by(f.c.occurred_us, f.c.failure_id).limit(limit)
    return [dict(row._mapping) for row in await conn.execute(query)]


# --- the log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventQuery:
    types: tuple[str, ...] = ()
    subject: str | None = None
    correlation_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


LOG_HORIZON = func.pg_snapshot_xmin(func.pg_current_snapshot()).cast(Text).cast(BigInteger)
"""PostgreSQL: the oldest transaction still running. Every event logged by an older one is
committed (or was rolled back), and any event committed later will have a greater txid: the
log up to there, in (txid, seq) order, never changes behind a reader's cursor."""


async def event_page(
    conn: AsyncConnection, query: EventQuery, after: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Logged events matching `query`, in log order (transaction, then sequence number) after
    the key `after`. On PostgreSQL, only the events of transactions older than every one still
    running (`LOG_HORIZON`): the newest appear once the transactions before them have ended
    (SQLite serialises its writers, and every txid there is 0)."""
    log = event_log
    statement: Select[Any] = select(log)
    if conn.dialect.name == "postgresql":
        statement = statement.where(log.c.txid < LOG_HORIZON)
    if query.types:
        statement = statement.where(log.c.type.in_(query.types))
    if query.subject is not None:
        statement = statement.where(log.c.subject == query.subject)
    if query.correlation_id is not None:
        statement = statement.where(log.c.correlation_id == query.correlation_id)
    if query.start is not None:
        statement = statement.where(log.c.time >= query.start)
    if query.end is not None:
        statement = statement.where(log.c.time < query.end)
    if after is not None:
        statement = statement.where(tuple_(log.c.txid, log.c.seq) > tuple_(*after))
    statement = statement.order_by(log.c.txid, log.c.seq).limit(limit)
    return [dict(row._mapping) for row in await conn.execute(statement)]


async def log_status(conn: AsyncConnection) -> tuple[int, datetime | None]:
    """How many events the log holds and the latest event time."""
    row = (await conn.execute(select(func.count(), func.max(event_log.c.time)))).one()
    return int(row[0]), row[1]


async def projection_counts(conn: AsyncConnection) -> dict[str, int]:
    """Row counts of the main projections."""
    counts = {}
    for table in (deployments, commit_leads, health_failures, daily_deployments):
        counts[table.name] = int(await conn.scalar(select(func.count()).select_from(table)) or 0)
    return counts
