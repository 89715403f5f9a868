"""Database leases: among replicas, only the holder of a lease runs the guarded work."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.kit.tables import leases


async def acquire(
    engine: AsyncEngine, name: str, holder: str, ttl: timedelta, now: datetime
) -> bool:
    """Take or renew the lease `name` for `holder`; False while another holder's is valid."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(leases)
            .where(leases.c.name == name)
            .where(or_(leases.c.holder == holder, leases.c.expires_at <= now))
            .values(holder=holder, expires_at=now + ttl)
        )
        if result.rowcount:
            return True
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(leases).values(name=name, holder=holder, expires_at=now + ttl)
            )
    except IntegrityError:
        return False
    return True


async def release(engine: AsyncEngine, name: str, holder: str) -> None:
    """Give the lease up if `holder` has it."""
    async with engine.begin() as conn:
        await conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))
