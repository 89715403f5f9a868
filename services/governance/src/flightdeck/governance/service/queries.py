"""Read-only questions: a change with its conflicts, the conflicts report, overdue reviews,
failure rates and the audit trail. They run on the reader (never waiting for writers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.governance.db import changes as stored
from flightdeck.governance.db.calendar import active_blackouts
from flightdeck.governance.db.changes import ChangeFilter
from flightdeck.governance.db.tables import changes
from flightdeck.governance.domain.conflicts import Conflict, conflicts_of
from flightdeck.governance.domain.model import ChangeRequest
from flightdeck.governance.service.errors import NotFound

ChangeWithConflicts = tuple[ChangeRequest, list[Conflict]]


async def change(conn: AsyncConnection, change_id: str) -> ChangeRequest:
    """One change."""
    found = await stored.load(conn, change_id)
    if found is None:
        raise NotFound("change", change_id)
    return found


async def with_conflicts(
    conn: AsyncConnection, items: list[ChangeRequest]
) -> list[ChangeWithConflicts]:
    """Each change with its clashes against the other open changes and the blackouts."""
    if not items:
        return []
    start = min(item.planned_start for item in items)
    end = max(item.planned_end for item in items)
    others = await stored.load_many(conn, stored.active_between(start, end))
    blackouts = await active_blackouts(conn)
    return [(item, conflicts_of(item, others, blackouts)) for item in items]


async def change_list(
    conn: AsyncConnection, criteria: ChangeFilter, after: int | None, limit: int
) -> list[ChangeRequest]:
    """A page of changes by number."""
    return await stored.load_many(conn, stored.filtered(criteria, after, limit))


async def conflicts_report(
    conn: AsyncConnection,
    *,
    environment: str | None,
    start: datetime,
    end: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
) -> tuple[list[ChangeWithConflicts], tuple[datetime, int] | None]:
    """Open changes planned in `[start, end)` (in one environment, when named) that clash
    with something, a page at a time; and the cursor key of the next page."""
    statement = stored.active_between(start, end).limit(limit)
    if environment is not None:
        statement = statement.where(changes.c.environment == environment)
    if after is not None:
        moment, number = after
        statement = statement.where(
            or_(
                changes.c.planned_start > moment,
                (changes.c.planned_start == moment) & (changes.c.number > number),
            )
        )
    page = await stored.load_many(conn, statement)
    clashing = [(item, found) for item, found in await with_conflicts(conn, page) if found]
    last = page[-1] if len(page) == limit else None
    return clashing, (last.planned_start, last.number or 0) if last else None


async def risk_of(
    conn: AsyncConnection, change_id: str
) -> tuple[ChangeRequest, list[dict[str, object]]]:
    """A change and the stored explanation of its risk score."""
    found = await change(conn, change_id)
    return found, await stored.risk_factors(conn, change_id) or []
