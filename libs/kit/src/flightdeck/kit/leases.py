"""Database leases: among replicas, only the holder of a lease runs the guarded work."""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.kit.tables import leases


async def acquire(
    engine: AsyncEngine, name: str, holder: str, ttl: timedelta, now: datetime
) -> bool:
    """Take or renew the lease `name` for `holder`; False while another holder's is valid."""
    now = now.astimezone(UTC)  # SQLite keeps no offset: compare in UTC only
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


class Lease:
    """A named lease this process renews while it works; `held()` is cheap to call often."""

    def __init__(
        self, engine: AsyncEngine, name: str, ttl: timedelta = timedelta(seconds=15)
    ) -> None:
        self._engine = engine
        self.name = name
        self._ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renewed_at = 0.0

    async def held(self) -> bool:
        """Whether this process holds the lease (renewed once a third of its TTL has passed)."""
        now = time.monotonic()
        if now - self._renewed_at < self._ttl.total_seconds() / 3:
            return True
        if await acquire(self._engine, self.name, self.holder, self._ttl, datetime.now(UTC)):
            self._renewed_at = now
            return True
        self._renewed_at = 0.0
        return False

    async def release(self) -> None:
        """Let another process take over at once."""
        self._renewed_at = 0.0
        await release(self._engine, self.name, self.holder)
