"""Routes of the audit trail and the change failure rates."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from flightdeck.governance.api.schemas import (
    AuditRecordView,
    FailureRateGroup,
    FailureRatesView,
    VerificationView,
)
from flightdeck.governance.service import queries
from flightdeck.kit.deps import Ctx, Viewer
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from flightdeck.kit.problems import invalid
from flightdeck.kit.times import Moment

router = APIRouter(tags=["audit"])
DEFAULT_PERIOD = timedelta(days=30)


@router.get("/audit")
async def list_audit(
    context: Ctx,
    _caller: Viewer,
    subject: str | None = None,
    limit: Annotated[int, Query()] = 100,
    cursor: str | None = None,
) -> Page[AuditRecordView]:
    """Audit records in order (about one subject, e.g. a change id or `policy`)."""
    limit = check_limit(limit)
    after = decode_cursor(cursor, int)
    async with context.reader.connect() as conn:
        found = await queries.audit_trail(conn, subject, after[0] if after else None, limit)
    following = encode_cursor(found[-1].seq) if len(found) == limit else None
    return Page(items=[AuditRecordView.model_validate(r) for r in found], next_cursor=following)


@router.get("/audit/verify")
async def verify(context: Ctx, _caller: Viewer) -> VerificationView:
    """Re-compute the whole hash chain and report the first broken record."""
    async with context.reader.connect() as conn:
        check = await queries.verify_audit(conn)
    return VerificationView.of(check)


@router.get("/failure-rates", response_model_by_alias=True)
async def failure_rates(
    context: Ctx,
    _caller: Viewer,
    group_by: Literal["service", "team"],
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
) -> FailureRatesView:
    """Change failure rate per service or team: unsuccessful over closed changes (cancelled
    ones left out) closed in `[from, to)`; the last 30 days by default."""
    end = end or context.clock()
    start = start or end - DEFAULT_PERIOD
    if end <= start:
        error = {"location": "query.to", "message": "to must be after from", "type": "value_error"}
        raise invalid("to must be after from", [error])
    async with context.reader.connect() as conn:
        rates = await queries.failure_rates(conn, group_by, start, end)
    groups = [
        FailureRateGroup(group=r.group, numerator=r.unsuccessful, denominator=r.closed, rate=r.rate)
        for r in rates
    ]
    return FailureRatesView(group_by=group_by, start=start, end=end, groups=groups)
