"""Ingest: consumed events into the log and the projections, one transaction per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.events.envelope import Envelope
from flightdeck.metrics.db import projector
from flightdeck.metrics.db.refresh import Refresh


async def ingest(engine: AsyncEngine, envelopes: Sequence[Envelope[Any]], now: datetime) -> int:
    """Log the events not seen before (by ce_id) and bring the projections up to date with
    them in the same transaction; returns how many were new.

    What needs no shared state (the log rows staged, the facts gathered) is done before the
    projection writers' lock, while another batch may hold it."""
    async with engine.begin() as conn:
        await projector.tune(conn)
        arrivals = await projector.stage(conn, envelopes, now)
        if arrivals is None:
            return 0
        await projector.lock_projections(conn)
        logged, facts = await projector.append(conn, arrivals)
        if logged:
            refresh = Refresh(conn)
            await projector.store(conn, facts, refresh)
            await refresh.run()
    return len(logged)
