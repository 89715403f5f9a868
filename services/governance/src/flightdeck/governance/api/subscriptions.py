"""Routes of outbound webhook subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from flightdeck.governance.api.deps import Uow
from flightdeck.governance.api.schemas import NewSubscription, SubscriptionView
from flightdeck.governance.service import queries
from flightdeck.governance.service import webhooks as webhook_cases
from flightdeck.kit.deps import Admin, Ctx
from flightdeck.kit.pagination import Page, check_limit, decode_cursor, encode_cursor

router = APIRouter(tags=["webhooks"])


@router.post("/subscriptions", status_code=201)
async def subscribe(
    body: NewSubscription, context: Ctx, caller: Admin, uow: Uow
) -> SubscriptionView:
    """Register a receiver: each matching event (and, for `flightdeck.change.state_changed.v1`,
    each state change) is posted to it, signed with `X-Flightdeck-Signature`."""
    subscription = await webhook_cases.subscribe(
        uow,
        url=str(body.url),
        secret=body.secret,
        event_types=body.event_types,
        actor=caller.subject,
        now=context.clock(),
    )
    return SubscriptionView.model_validate(subscription)


@router.get("/subscriptions")
async def list_subscriptions(
    context: Ctx, _caller: Admin, limit: Annotated[int, Query()] = 100, cursor: str | None = None
) -> Page[SubscriptionView]:
    """Registered receivers."""
    limit = check_limit(limit)
    after = decode_cursor(cursor, str)
    async with context.reader.connect() as conn:
        found = await queries.subscriptions(conn, after[0] if after else None, limit)
    following = encode_cursor(found[-1].id) if len(found) == limit else None
    return Page(items=[SubscriptionView.model_validate(s) for s in found], next_cursor=following)


@router.get("/subscriptions/{subscription_id}/deliveries")
async def deliveries(
    subscription_id: str, context: Ctx, _caller: Admin, limit: Annotated[int, Query()] = 100
) -> list[dict[str, Any]]:
    """The latest deliveries to a receiver, with attempts and errors."""
    async with context.reader.connect() as conn:
        return await queries.deliveries(conn, subscription_id, check_limit(limit))


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def unsubscribe(subscription_id: str, context: Ctx, caller: Admin, uow: Uow) -> Response:
    """Stop sending to a receiver."""
    await webhook_cases.unsubscribe(uow, subscription_id, actor=caller.subject, now=context.clock())
    return Response(status_code=204)
