"""Rebuild: every projection recomputed from the log, swapped in atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.metrics.db import projector
from flightdeck.metrics.db.queries import projection_counts
from flightdeck.metrics.db.refresh import Refresh
from flightdeck.metrics.db.tables import PROJECTIONS, event_log
from flightdeck.metrics.domain.facts import PROJECTED_TYPES, LoggedEvent, gather

CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Rebuilt:
    events: int
    seconds: float
    projections: dict[str, int]


async def rebuild(conn: AsyncConnection, chunk: int = CHUNK) -> Rebuilt:
    """Empty the projections and recompute them from the log inside the caller's
    transaction: readers see the old projections until it commits, then the new ones."""
    started = time.perf_counter()
    await projector.lock_projections(conn)
    for table in reversed(PROJECTIONS):
        await conn.execute(delete(table))
    refresh = Refresh(conn, everything=True)
    read, last = 0, 0
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
                .limit(chunk)
            )
        ).all()
        if not rows:
            break
        last, read = rows[-1].seq, read + len(rows)
        events = [LoggedEvent(row.event_id, row.type, row.time, row.data) for row in rows]
        await projector.store(conn, gather(events), refresh)
    await projector.resolve_teams(conn, true())
    await refresh.run()
    return Rebuilt(read, time.perf_counter() - started, await projection_counts(conn))
