"""The mirrored blackout calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.governance.db.dialect import insert_ignoring_duplicates
from flightdeck.governance.db.tables import blackouts
from flightdeck.governance.domain.calendar import Blackout

Executor = AsyncSession | AsyncConnection


async def active_blackouts(db: Executor) -> list[Blackout]:
    """Declared blackouts not withdrawn."""
    rows = await db.execute(
        select(blackouts).where(
            blackouts.c.withdrawn_at.is_(None), blackouts.c.starts_at.is_not(None)
        )
    )
    return [
        Blackout(
            id=row.id,
            name=row.name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            timezone=row.timezone,
            rrule=row.rrule,
            services=tuple(row.services or ()),
            teams=tuple(row.teams or ()),
        )
        for row in rows
    ]


async def declare_blackout(db: Executor, blackout: Blackout, reason: str) -> None:
    """Mirror a declaration; a blackout withdrawn before (or already known) keeps its state."""
    await db.execute(insert_ignoring_duplicates(db, blackouts, {"id": blackout.id}))
    await db.execute(
        update(blackouts)
        .where(blackouts.c.id == blackout.id)
        .values(
            name=blackout.name,
            reason=reason,
            starts_at=blackout.starts_at,
            ends_at=blackout.ends_at,
            timezone=blackout.timezone,
            rrule=blackout.rrule,
            services=list(blackout.services),
            teams=list(blackout.teams),
        )
    )


async def withdraw_blackout(db: Executor, blackout_id: str, at: datetime) -> None:
    """Mirror a withdrawal, even of a blackout whose declaration has not arrived yet."""
    await db.execute(insert_ignoring_duplicates(db, blackouts, {"id": blackout_id}))
    await db.execute(
        update(blackouts)
        .where(blackouts.c.id == blackout_id, blackouts.c.withdrawn_at.is_(None))
        .values(withdrawn_at=at)
    )
