"""Read-side queries for lists: keyset pages over the indexes that match each filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.planning.db import tables as t
from flightdeck.planning.db.rows import to_blackout, to_toggle
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.domain.model import ReleaseState, Toggle


@dataclass(frozen=True)
class ReleaseFilter:
    """What `GET /releases` narrows by; `starts_from`/`starts_before` bound planned_start."""

    state: ReleaseState | None = None
    team: str | None = None
    service: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None


LISTED = (
    "id",
    "name",
    "version",
    "resource_version",
    "state",
    "services",
    "team",
    "target_environment",
    "planned_start",
    "planned_end",
    "owner",
)
"""The columns of a release in a list (a read model: no items or other parts)."""


async def releases_page(
    conn: AsyncConnection, where: ReleaseFilter, limit: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    """Up to `limit` releases matching `where` (the `LISTED` fields), by planned start then
    id, after the cursor."""
    r = t.releases
    columns = [r.c[name] for name in LISTED]
    if where.service is not None:
        s = t.release_services
        start, ident = s.c.planned_start, s.c.release_id
        statement: Select[Any] = (
            select(*columns).join(s, s.c.release_id == r.c.id).where(s.c.service == where.service)
        )
    else:
        start, ident = r.c.planned_start, r.c.id
        statement = select(*columns)
    if where.state is not None:
        statement = statement.where(r.c.state == where.state.value)
    if where.team is not None:
        statement = statement.where(r.c.team == where.team)
    if where.starts_from is not None:
        statement = statement.where(start >= where.starts_from)
    if where.starts_before is not None:
        statement = statement.where(start < where.starts_before)
    if after is not None:
        statement = statement.where(_after(start, ident, after))
    statement = statement.order_by(start, ident).limit(limit)
    return [dict(zip(LISTED, row, strict=True)) for row in (await conn.execute(statement)).all()]


def _after(first: Any, second: Any, key: tuple[Any, Any]) -> Any:
    """The keyset condition `(first, second) > key`, written so both databases use the index."""
    return or_(first > key[0], and_(first == key[0], second > key[1]))


async def stale_toggles_page(
    conn: AsyncConnection, today: date, limit: int, after: tuple[date, str, str] | None
) -> list[tuple[str, str, Toggle]]:
    """(release id, release name, toggle) of toggles past their removal date in released
    releases, oldest removal date first."""
    g, r = t.toggles, t.releases
    statement = (
        select(g, r.c.name.label("release_name"))
        .join(r, r.c.id == g.c.release_id)
        .where(g.c.remove_by < today, r.c.state == ReleaseState.RELEASED.value)
    )
    if after is not None:
        statement = statement.where(tuple_(g.c.remove_by, g.c.release_id, g.c.key) > tuple_(*after))
    statement = statement.order_by(g.c.remove_by, g.c.release_id, g.c.key).limit(limit)
    rows = (await conn.execute(statement)).all()
    return [(row.release_id, row.release_name, to_toggle(row)) for row in rows]


async def blackouts_page(
    conn: AsyncConnection, limit: int, after: tuple[datetime, str] | None
) -> list[Blackout]:
    """Blackouts in declaration order, after the cursor."""
    b = t.blackouts
    statement = select(b)
    if after is not None:
        statement = statement.where(_after(b.c.declared_at, b.c.id, after))
    statement = statement.order_by(b.c.declared_at, b.c.id).limit(limit)
    return [to_blackout(row) for row in (await conn.execute(statement)).all()]
