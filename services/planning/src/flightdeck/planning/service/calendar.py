"""Use cases of the business calendar: declaring and withdrawing blackouts, and checking a
period against them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flightdeck.planning.db.repositories import Calendar
from flightdeck.planning.db.uow import PlanningUnitOfWork
from flightdeck.planning.domain import calendar
from flightdeck.planning.domain import events as integration
from flightdeck.planning.domain.calendar import Blackout, Occurrence
from flightdeck.planning.domain.errors import InputError, InvalidInput, NotFound


async def declare(uow: PlanningUnitOfWork, blackout: Blackout) -> Blackout:
    """Add a blackout to the calendar (BlackoutDeclared); InvalidInput for a period, zone or
    rule that does not make sense."""
    errors = calendar.blackout_errors(
        blackout.starts_at, blackout.ends_at, blackout.timezone, blackout.rrule
    )
    if errors:
        raise InvalidInput(errors)
    async with uow:
        await uow.calendar.add(blackout)
        uow.publish(integration.blackout_declared(blackout))
        await uow.commit()
    return blackout


async def withdraw(uow: PlanningUnitOfWork, blackout_id: str, by: str, now: datetime) -> None:
    """Remove a blackout from the calendar (BlackoutWithdrawn)."""
    async with uow:
        if not await uow.calendar.remove(blackout_id):
            raise NotFound("blackout", blackout_id)
        uow.publish(integration.blackout_withdrawn(blackout_id, by, now))
        await uow.commit()


@dataclass(frozen=True)
class ConflictReport:
    """The occurrences overlapping a period and the earliest start that avoids them all."""

    occurrences: list[Occurrence]
    next_free_start: datetime | None


async def conflicts(
    blackouts: Calendar,
    start: datetime,
    end: datetime,
    services: Sequence[str],
    team: str | None,
) -> ConflictReport:
    """Check [start, end) for `services` of `team` against the calendar."""
    if end <= start:
        raise InvalidInput([InputError("query.end", "end must be after start")])
    if end - start > calendar.SEARCH_HORIZON:
        raise InvalidInput([InputError("query.end", "the period may span two years at most")])
    relevant = [
        b
        for b in await blackouts.all()
        if (not services and team is None) or b.applies_to(services, team)
    ]
    found = calendar.conflicts(relevant, start, end)
    free = calendar.next_free_start(relevant, start, end - start) if found else start
    return ConflictReport(found, free)
