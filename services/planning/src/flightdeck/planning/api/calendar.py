"""Routes of the business calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from flightdeck.kit.deps import Ctx, Releaser, Viewer
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.times import Moment
from flightdeck.planning.api.errors import PlanningRoute
from flightdeck.planning.api.requests import DeclareBlackout
from flightdeck.planning.api.views import (
    BlackoutView,
    ConflictsView,
    OccurrenceView,
)
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.service import calendar, queries
from flightdeck.planning.service.releases import new_id

router = APIRouter(tags=["calendar"], route_class=PlanningRoute)


@router.post("/calendar/blackouts", status_code=201)
async def declare_blackout(body: DeclareBlackout, context: Ctx, caller: Releaser) -> BlackoutView:
    """Declare a blackout period; publishes BlackoutDeclared."""
    blackout = Blackout(
        **body.model_dump(exclude={"services", "teams"}),
        services=tuple(body.services),
        teams=tuple(body.teams),
        id=new_id(),
        declared_by=caller.subject,
        declared_at=context.clock(),
    )
    return BlackoutView.of(await calendar.declare(context.uow(), blackout))


@router.get("/calendar/blackouts")
async def list_blackouts(
    context: Ctx, _caller: Viewer, limit: int = 50, cursor: str | None = None
) -> Page[BlackoutView]:
    """The calendar's blackouts, in declaration order."""
    check_limit(limit)
    after = decode_cursor(cursor, datetime, str)
    found = await queries.blackouts(
        context.reader, limit + 1, (after[0], after[1]) if after else None
    )
    page = found[:limit]
    last = page[-1] if page else None
    following = (
        encode_cursor(last.declared_at.isoformat(), last.id)
        if last and last.declared_at and len(found) > limit
        else None
    )
    return Page(items=[BlackoutView.of(b) for b in page], next_cursor=following)


@router.delete("/calendar/blackouts/{blackout_id}", status_code=204)
async def withdraw_blackout(blackout_id: str, context: Ctx, caller: Releaser) -> Response:
    """Withdraw a blackout; publishes BlackoutWithdrawn."""
    await calendar.withdraw(context.uow(), blackout_id, caller.subject, context.clock())
    return Response(status_code=204)


@router.get("/calendar/conflicts")
async def calendar_conflicts(
    context: Ctx,
    _caller: Viewer,
    start: Moment,
    end: Moment,
    service: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    team: str | None = None,
) -> ConflictsView:
    """Blackout occurrences overlapping [start, end) for the services or team (every
    blackout when neither is given), and the next free start for the same duration."""
    report = await queries.calendar_conflicts(context.reader, start, end, service, team)
    return ConflictsView(
        start=start,
        end=end,
        occurrences=[OccurrenceView.of(o) for o in report.occurrences],
        next_free_start=report.next_free_start,
    )
