"""Rebuild: every projection recomputed from the log, swapped in atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flightdeck.metrics.db import projector, staging
from flightdeck.metrics.db.extract import extract_facts
from flightdeck.metrics.db.queries import projection_counts
from flightdeck.metrics.db.refresh import Derivation, Refresh
from flightdeck.metrics.db.tables import (
    PROJECTIONS,
    commit_leads,
    daily_deployments,
    deployment_commits,
    deployments,
    event_log,
    health_failures,
    restorations,
)
from flightdeck.metrics.domain.facts import PROJECTED_TYPES, LoggedEvent, gather

CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Rebuilt:
    events: int
    seconds: float
    projections: dict[str, int]


async def rebuild(conn: AsyncConnection) -> Rebuilt:
    """Recompute every projection from the log inside the caller's transaction; readers keep
    the old projections until it commits, then see the new ones. Projection writers (the
    consumer) wait on the projection lock meanwhile."""
    started = time.perf_counter()
    await projector.tune(conn)
    await projector.lock_projections(conn)
    if conn.dialect.name == "postgresql":
        await _rebuild_staged(conn)
    else:
        await _rebuild_in_place(conn)
    read = await conn.scalar(
        select(func.count()).select_from(event_log).where(event_log.c.type.in_(PROJECTED_TYPES))
    )
    return Rebuilt(int(read or 0), time.perf_counter() - started, await projection_counts(conn))


async def _rebuild_staged(conn: AsyncConnection) -> None:
    """PostgreSQL: facts extracted set-based into bare staged tables, indexed, derived, then
    swapped in for the live tables."""
    staged = staging.staged_tables()
    # Room for the big sorts (latest event per deployment, first deployment per commit) and
    # the index builds to stay in memory, for this transaction only.
    await conn.execute(text("SET LOCAL work_mem = '256MB'"))
    await conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    await conn.execute(text("SET LOCAL jit = off"))
    await staging.create(conn)
    await extract_facts(conn, staging.SUFFIX)
    await projector.resolve_teams(
        conn,
        staged["deployments"].c.declared_team.is_(None),
        staged["deployments"],
        staged["service_teams"],
    )
    derived = {commit_leads.name, daily_deployments.name}
    await staging.index(conn, staged, [t.name for t in PROJECTIONS if t.name not in derived])
    tables = Derivation(
        deployments=staged[deployments.name],
        commits=staged[deployment_commits.name],
        failures=staged[health_failures.name],
        restorations=staged[restorations.name],
        leads=staged[commit_leads.name],
        daily=staged[daily_deployments.name],
    )
    await Refresh(conn, everything=True, tables=tables).run()
    await staging.index(conn, staged, sorted(derived))
    await staging.swap(conn)


async def _rebuild_in_place(conn: AsyncConnection) -> None:
    """SQLite: the projections emptied and refilled in the transaction (readers keep their
    WAL snapshot until it commits)."""
    for table in reversed(PROJECTIONS):
        await conn.execute(delete(table))
    await _replay_facts(conn)
    await projector.resolve_teams(conn, deployments.c.declared_team.is_(None))
    await Refresh(conn, everything=True).run()


async def _replay_facts(conn: AsyncConnection) -> None:
    """The facts of every logged event, read in chunks through `domain.facts`."""
    refresh = Refresh(conn, everything=True)
    last = 0
    while True:
        rows = (
            await conn.execute(
                select(
                    event_log.c.seq,
                    event_log.c.event_id,
                    event_log.c.type,
                    event_log.c.time,
                    event_log.c.data,
                )
                .where(event_log.c.seq > last, event_log.c.type.in_(PROJECTED_TYPES))
                .order_by(event_log.c.seq)
                .limit(CHUNK)
            )
        ).all()
        if not rows:
            return
        last = rows[-1].seq
        events = [LoggedEvent(row.event_id, row.type, row.time, row.data) for row in rows]
        await projector.store(conn, gather(events), refresh)


async def settle(engine: AsyncEngine) -> None:
    """After a rebuild committed (PostgreSQL): vacuum and analyse the new tables, so their
    visibility maps allow index-only reads and the planner knows their sizes."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        names = ", ".join(table.name for table in PROJECTIONS)
        await conn.execute(text(f"VACUUM (ANALYZE) {names}"))
