"""Routes of feature toggles across releases."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from flightdeck.kit.deps import Ctx, Viewer
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.problems import Problem
from flightdeck.planning.api.errors import PlanningRoute
from flightdeck.planning.api.views import StaleToggleView
from flightdeck.planning.service import queries

router = APIRouter(tags=["toggles"], route_class=PlanningRoute)


@router.get("/toggles/stale")
async def stale_toggles(
    context: Ctx,
    _caller: Viewer,
    today: date | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[StaleToggleView]:
    """Toggles of released releases whose `remove_by` is before `today` (UTC date by default)."""
    check_limit(limit)
    after = decode_cursor(cursor, str, str, str)
    try:
        key = (date.fromisoformat(after[0]), after[1], after[2]) if after else None
    except ValueError as exc:
        raise Problem(422, "cursor is not valid", slug="invalid-cursor") from exc
    found = await queries.stale_toggles(
        context.reader, today or context.clock().date(), limit + 1, key
    )
    page = found[:limit]
    following = None
    if len(found) > limit:
        release_id, _, toggle = page[-1]
        following = encode_cursor(toggle.remove_by.isoformat(), release_id, toggle.key)
    return Page(
        items=[
            StaleToggleView(release_id=rid, release_name=name, **vars(toggle))
            for rid, name, toggle in page
        ],
        next_cursor=following,
    )
