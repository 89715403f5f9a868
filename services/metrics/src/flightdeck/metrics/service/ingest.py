"""Ingest: consumed events into the log and the projections, one transaction per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.events.envelope import Envelope
from flightdeck.metrics.db import projector
from flightdeck.metrics.db.refresh import Refresh
from flightdeck.metrics.domain.facts import gather


async def ingest(engine: AsyncEngine, envelopes: Sequence[Envelope[Any]], now: datetime) -> int:
    """Log the events not seen before (by ce_id) and bring the projections up to date with
    them in the same transaction; returns how many were new."""
    async with engine.begin() as conn:
        await projector.lock_projections(conn)
        logged = await projector.append(conn, envelopes, now)
        if logged:
            refresh = Refresh(conn)
            await projector.store(conn, gather(logged), refresh)
            await refresh.run()
    return len(logged)
