"""Routes of change requests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from flightdeck.governance.api.deps import (
    Decider,
    IfMatch,
    Requester,
    Reviewer,
    Uow,
)
from flightdeck.governance.api.schemas import (
    Cancellation,
    ChangeView,
    NewChange,
    NewDecision,
    NewReview,
    RiskView,
)
from flightdeck.governance.db.changes import ChangeFilter
from flightdeck.governance.domain import itsm
from flightdeck.governance.domain.model import ChangeState, Classification, CloseCode
from flightdeck.governance.domain.policy import APPROVING_ROLES
from flightdeck.governance.service import changes, queries
from flightdeck.kit.auth import Role
from flightdeck.kit.deps import Ctx, Viewer
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.problems import Problem, invalid
from flightdeck.kit.times import Moment
from flightdeck.kit.versioning import etag

router = APIRouter(tags=["changes"])
MAX_CONFLICTS_PERIOD = timedelta(days=731)
MAX_CHANGE_NUMBER = 2**31 - 1
"""The longest period one conflicts report covers."""
Limit = Annotated[int, Query(description="Page size (1-500).")]


def _after_number(cursor: str | None, *types: type) -> list[Any] | None:
    """The sort key of a cursor ending in a change number; 422 when that number cannot be
    one (a made-up cursor)."""
    after = decode_cursor(cursor, *types, int)
    if after is not None and not 0 <= after[-1] <= MAX_CHANGE_NUMBER:
        raise Problem(422, "cursor is not valid", slug="invalid-cursor")
    return after


def _tagged(response: Response, view: ChangeView) -> ChangeView:
    response.headers["ETag"] = etag(view.version)
    return view


@router.post("/changes", status_code=201)
async def request_change(
    body: NewChange, context: Ctx, caller: Requester, uow: Uow, response: Response
) -> ChangeView:
    """Open a change request: it is assessed, classified and (if standard) approved at once."""
    now = context.clock()
    change = await changes.request_change(uow, body.draft(str(uuid.uuid4()), caller.subject), now)
    response.headers["Location"] = f"/changes/{change.id}"
    return _tagged(response, ChangeView.of(change, now))


@router.get("/changes")
async def list_changes(
    context: Ctx,
    _caller: Viewer,
    state: ChangeState | None = None,
    environment: str | None = None,
    service: str | None = None,
    classification: Classification | None = None,
    release_id: str | None = None,
    review_overdue: bool = False,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[ChangeView]:
    """Changes by number; `review_overdue=true` lists those whose required review is late."""
    now = context.clock()
    criteria = ChangeFilter(
        state, environment, service, classification, release_id, now if review_overdue else None
    )
    return await _page(context, criteria, limit, cursor)


@router.get("/reviews/overdue")
async def overdue_reviews(
    context: Ctx, _caller: Viewer, limit: Limit = 50, cursor: str | None = None
) -> Page[ChangeView]:
    """Changes whose post-implementation review is past due."""
    return await _page(context, ChangeFilter(review_overdue_at=context.clock()), limit, cursor)


async def _page(
    context: Ctx, criteria: ChangeFilter, limit: int, cursor: str | None
) -> Page[ChangeView]:
    limit = check_limit(limit)
    after = _after_number(cursor)
    async with context.reader.connect() as conn:
        found = await queries.change_list(conn, criteria, after[0] if after else None, limit)
    now = context.clock()
    following = encode_cursor(found[-1].number) if len(found) == limit else None
    return Page(items=[ChangeView.of(c, now) for c in found], next_cursor=following)


@router.get("/changes/conflicts")
async def conflicts(
    context: Ctx,
    _caller: Viewer,
    start: Moment,
    end: Moment,
    environment: str | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Page[ChangeView]:
    """Open changes planned in `[start, end)` that overlap another change on the same service
    or environment, or fall inside a blackout; each lists its conflicts."""
    if not start < end <= start + MAX_CONFLICTS_PERIOD:
        message = "end must be after start, by two years at most"
        raise invalid(
            message, [{"location": "query.end", "message": message, "type": "value_error"}]
        )
    limit = check_limit(limit)
    after = _after_number(cursor, datetime)
    async with context.reader.connect() as conn:
        found, following = await queries.conflicts_report(
            conn,
            environment=environment,
            start=start,
            end=end,
            after=(after[0], after[1]) if after else None,
            limit=limit,
        )
    now = context.clock()
    return Page(
        items=[ChangeView.of(change, now, clashes) for change, clashes in found],
        next_cursor=encode_cursor(*following) if following else None,
    )


@router.get("/changes/{change_id}")
async def get_change(
    change_id: str, context: Ctx, _caller: Viewer, response: Response
) -> ChangeView:
    """A change with its approvals and conflicts."""
    async with context.reader.connect() as conn:
        change = await queries.change(conn, change_id)
        [(change, clashes)] = await queries.with_conflicts(conn, [change])
    return _tagged(response, ChangeView.of(change, context.clock(), clashes))


@router.get("/changes/{change_id}/risk")
async def change_risk(change_id: str, context: Ctx, _caller: Viewer) -> RiskView:
    """The risk score and each factor's weight, value and contribution."""
    async with context.reader.connect() as conn:
        change, factors = await queries.risk_of(conn, change_id)
    return RiskView.model_validate(
        {
            "change_id": change.id,
            "score": change.risk_score,
            "level": change.risk_level,
            "policy_version": change.policy_version,
            "factors": factors,
        }
    )


@router.get("/changes/{change_id}/itsm")
async def change_itsm(change_id: str, context: Ctx, _caller: Viewer) -> dict[str, Any]:
    """The change as a ServiceNow `change_request` record."""
    async with context.reader.connect() as conn:
        change = await queries.change(conn, change_id)
    return {"result": itsm.change_request(change)}


@router.post("/changes/{change_id}/approvals", status_code=201)
async def decide(
    change_id: str,
    body: NewDecision,
    context: Ctx,
    caller: Decider,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> ChangeView:
    """Approve or reject; the quorum depends on classification and risk."""
    held = frozenset(role for role in APPROVING_ROLES if caller.has(Role(role)))
    now = context.clock()
    change = await changes.decide(
        uow,
        change_id,
        subject=caller.subject,
        held_roles=held,
        decision=body.decision,
        comment=body.comment,
        if_match=if_match,
        now=now,
    )
    return _tagged(response, ChangeView.of(change, now))


@router.post("/changes/{change_id}/review", status_code=201)
async def review(
    change_id: str, body: NewReview, context: Ctx, caller: Reviewer, uow: Uow, response: Response
) -> ChangeView:
    """Record the post-implementation review (required for emergency changes)."""
    now = context.clock()
    change = await changes.review(
        uow,
        change_id,
        reviewer=caller.subject,
        code=CloseCode(body.outcome),
        lessons=body.lessons,
        actions=body.actions,
        now=now,
    )
    return _tagged(response, ChangeView.of(change, now))


@router.post("/changes/{change_id}/cancel")
async def cancel(
    change_id: str,
    body: Cancellation,
    context: Ctx,
    caller: Requester,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> ChangeView:
    """Withdraw a change that is not implemented yet."""
    now = context.clock()
    change = await changes.cancel(uow, change_id, caller.subject, body.reason, if_match, now)
    return _tagged(response, ChangeView.of(change, now))
