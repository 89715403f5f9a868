"""Read-only use cases, on the reader engine (on SQLite they never wait for writers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.planning.db import queries
from flightdeck.planning.db.queries import ReleaseFilter
from flightdeck.planning.db.repositories import Calendar, Releases
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.domain.errors import NotFound
from flightdeck.planning.domain.model import Release, Toggle
from flightdeck.planning.service.calendar import ConflictReport, conflicts

__all__ = [
    "ReleaseFilter",
    "blackouts",
    "calendar_conflicts",
    "release",
    "releases",
    "stale_toggles",
]


async def release(reader: AsyncEngine, release_id: str) -> Release:
    """The whole release as of one moment; NotFound when it does not exist.

    It is read with one query per table; on PostgreSQL they share a snapshot (REPEATABLE
    READ), or a change committed between them would show, say, three rejections beside the
    resource version of two (SQLite's read transaction is one snapshot already)."""
    async with reader.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        found = await Releases(conn).get(release_id)
    if found is None:
        raise NotFound("release", release_id)
    return found


async def releases(
    reader: AsyncEngine, where: ReleaseFilter, limit: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    """One page of releases, as list entries (`queries.LISTED` fields, no parts)."""
    async with reader.connect() as conn:
        return await queries.releases_page(conn, where, limit, after)


async def stale_toggles(
    reader: AsyncEngine, today: date, limit: int, after: tuple[date, str, str] | None
) -> list[tuple[str, str, Toggle]]:
    """Toggles of released releases whose removal date is before `today`."""
    async with reader.connect() as conn:
        return await queries.stale_toggles_page(conn, today, limit, after)


async def blackouts(
    reader: AsyncEngine, limit: int, after: tuple[datetime, str] | None
) -> list[Blackout]:
    """One page of the calendar."""
    async with reader.connect() as conn:
        return await queries.blackouts_page(conn, limit, after)


async def calendar_conflicts(
    reader: AsyncEngine,
    start: datetime,
    end: datetime,
    services: list[str],
    team: str | None,
) -> ConflictReport:
    """The blackout occurrences overlapping [start, end) and the next free start."""
    async with reader.connect() as conn:
        return await conflicts(Calendar(conn), start, end, services, team)
