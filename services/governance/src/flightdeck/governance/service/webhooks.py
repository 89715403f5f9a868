"""Webhook subscriptions and the sender that works through the delivery table."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from flightdeck.governance.db import webhooks
from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.governance.db.webhooks import Delivery, Subscription
from flightdeck.governance.domain.webhooks import SIGNATURE_HEADER, RetryPolicy, signature
from flightdeck.governance.service.errors import NotFound

log = logging.getLogger(__name__)
SUBSCRIPTION_SUBJECT = "subscription:"
"""Audit subjects of receivers: `subscription:<id>`."""


async def subscribe(
    uow: GovernanceUnitOfWork,
    *,
    url: str,
    secret: str,
    event_types: list[str],
    actor: str,
    now: datetime,
) -> Subscription:
    """Register a receiver (audited without its secret)."""
    subscription = Subscription(str(uuid.uuid4()), url, secret, tuple(event_types), actor, now)
    async with uow:
        await webhooks.add_subscription(uow.session, subscription)
        evidence = {"url": url, "event_types": event_types}
        await uow.audit.append(
            [(f"{SUBSCRIPTION_SUBJECT}{subscription.id}", "subscribed", actor, now, url, evidence)]
        )
        await uow.commit()
    return subscription


async def unsubscribe(
    uow: GovernanceUnitOfWork, subscription_id: str, *, actor: str, now: datetime
) -> None:
    """Stop sending to a receiver (its pending deliveries go too); audited."""
    async with uow:
        if not await webhooks.remove_subscription(uow.session, subscription_id):
            raise NotFound("subscription", subscription_id)
        subject = f"{SUBSCRIPTION_SUBJECT}{subscription_id}"
        await uow.audit.append([(subject, "unsubscribed", actor, now, "unsubscribed", {})])
        await uow.commit()


async def attempt(client: httpx.AsyncClient, delivery: Delivery) -> tuple[int | None, str | None]:
    """Post one delivery: its status and, unless 2xx, why it failed. Never raises for the
    receiver's sake, so one odd receiver cannot stall the others' deliveries."""
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(delivery.secret, delivery.body),
        "X-Flightdeck-Event": delivery.event_type,
        "X-Flightdeck-Delivery": delivery.id,
    }
    try:
        response = await client.post(delivery.url, content=delivery.body, headers=headers)
    except Exception as exc:  # transport errors, and whatever else a strange receiver causes
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def send_due(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    retry: RetryPolicy,
    now: datetime,
    limit: int = 50,
) -> int:
    """Attempt the deliveries due at `now` (concurrently) and record each result; returns
    how many were attempted."""
    async with engine.connect() as conn:
        due = await webhooks.due_deliveries(conn, now, limit)
    if not due:
        return 0
    results = await asyncio.gather(*(attempt(client, delivery) for delivery in due))
    async with engine.begin() as conn:
        for delivery, (status, error) in zip(due, results, strict=True):
            attempts = delivery.attempts + 1
            settled = retry.settle(attempts, error is None, delivery.created_at, now)
            if settled.abandoned_at is not None:
                log.warning("webhook delivery %s abandoned: %s", delivery.id, error)
            await webhooks.record_attempt(
                conn, delivery.id, attempts=attempts, status=status, error=error, settled=settled
            )
    return len(due)
