"""Ingest: consumed events into the log and the projections, one transaction per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.events.envelope import Envelope
from flightdeck.metrics.db import merge, projector
from flightdeck.metrics.db.refresh import Refresh


async def ingest(engine: AsyncEngine, envelopes: Sequence[Envelope[Any]], now: datetime) -> int:
    """Log the events not seen before (by ce_id) and bring the projections up to date with
    them in the same transaction; returns how many were new.

    What needs no shared state is done before the projection writers' lock, while another
    batch may hold it: the log rows and facts are read and, on PostgreSQL, staged, and the
    events appended to the log (readers page the log in transaction order, so concurrent
    appends need no lock: `queries.LOG_HORIZON`). Under the lock, PostgreSQL merges the staged
    facts set-based and refreshes what they derive in one round trip (`merge`); SQLite, whose
    writers are serialised anyway, stores them row by row."""
    async with engine.begin() as conn:
        await projector.tune(conn)
        arrivals = await projector.stage(conn, envelopes, now)
        if arrivals is None:
            return 0
        if conn.dialect.name == "postgresql":
            await merge.prepare(conn)
            await merge.stage(conn, arrivals.facts)
            # An event another transaction is appending waits for it to end, then counts as
            # logged. The facts of events logged before (redelivered ones) are merged again:
            # each of them is in the projections already, so that changes nothing.
            new = await projector.append_count(conn, arrivals)
            if new:
                await projector.lock_projections(conn)
                await merge.run(conn)
            return new
        await projector.lock_projections(conn)
        logged, facts = await projector.append(conn, arrivals)
        if logged:
            refresh = Refresh(conn)
            await projector.store(conn, facts, refresh)
            await refresh.run()
    return len(logged)
