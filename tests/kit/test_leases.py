"""Leases: one holder at a time, renewable, taken over once expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flightdeck.kit import leases
from flightdeck.kit.db import create_engine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


async def test_one_holder_at_a_time(databases: Any) -> None:
    engine = create_engine(await databases.create("leases"))
    try:
        assert await leases.acquire(engine, "windows", "replica-a", TTL, T0)
        assert not await leases.acquire(
            engine, "windows", "replica-b", TTL, T0 + timedelta(seconds=5)
        )
        assert await leases.acquire(engine, "windows", "replica-a", TTL, T0 + timedelta(seconds=20))
        assert not await leases.acquire(
            engine, "windows", "replica-b", TTL, T0 + timedelta(seconds=45)
        )
        assert await leases.acquire(engine, "windows", "replica-b", TTL, T0 + timedelta(seconds=51))
        assert not await leases.acquire(
            engine, "windows", "replica-a", TTL, T0 + timedelta(seconds=52)
        )
        assert await leases.acquire(
            engine, "ttl-cleanup", "replica-a", TTL, T0 + timedelta(seconds=52)
        )
        await leases.release(engine, "windows", "replica-b")
        assert await leases.acquire(engine, "windows", "replica-a", TTL, T0 + timedelta(seconds=53))
    finally:
        await engine.dispose()
