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
    them in the same transaction; returns how many were new.

    The log append comes before the projection writers' lock, so that concurrent batches
    append while another one projects. A rebuild holding the lock cannot see the appended
    rows before they commit, which is after the projections took them in."""
    async with engine.begin() as conn:
        await projector.tune(conn)
        logged = await projector.append(conn, envelopes, now)
        if logged:
            await projector.lock_projections(conn)
            refresh = Refresh(conn)
            await projector.store(conn, gather(logged), refresh)
            await refresh.run()
    return len(logged)
