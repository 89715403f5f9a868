"""Webhook subscriptions and the durable delivery table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.governance.db.dialect import affected
from flightdeck.governance.db.tables import webhook_deliveries, webhook_subscriptions
from flightdeck.governance.domain.webhooks import Settled

Executor = AsyncSession | AsyncConnection


@dataclass(frozen=True, slots=True)
class Subscription:
    """A receiver of signed webhook calls."""

    id: str
    url: str
    secret: str
    event_types: tuple[str, ...]
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One call to make (or retry)."""

    id: str
    url: str
    secret: str
    event_type: str
    body: bytes
    attempts: int
    created_at: datetime


def _subscription(row: Any) -> Subscription:
    return Subscription(
        row.id, row.url, row.secret, tuple(row.event_types), row.created_by, row.created_at
    )


async def add_subscription(db: Executor, subscription: Subscription) -> None:
    """Register a receiver."""
    await db.execute(
        insert(webhook_subscriptions).values(
            id=subscription.id,
            url=subscription.url,
            secret=subscription.secret,
            event_types=list(subscription.event_types),
            created_by=subscription.created_by,
            created_at=subscription.created_at,
        )
    )


async def remove_subscription(db: Executor, subscription_id: str) -> bool:
    """Stop sending to a receiver (its pending deliveries go too)."""
    result = await db.execute(
        delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
    )
    return bool(affected(result))


async def subscription_exists(db: Executor, subscription_id: str) -> bool:
    """Whether a receiver is registered."""
    found = await db.scalar(
        select(webhook_subscriptions.c.id).where(webhook_subscriptions.c.id == subscription_id)
    )
    return found is not None


async def subscription_page(db: Executor, after: str | None, limit: int) -> list[Subscription]:
    """Receivers by id, after the cursor's id."""
    statement = select(webhook_subscriptions).order_by(webhook_subscriptions.c.id).limit(limit)
    if after is not None:
        statement = statement.where(webhook_subscriptions.c.id > after)
    return [_subscription(row) for row in await db.execute(statement)]


async def enqueue(db: Executor, notices: Sequence[tuple[str, bytes]], now: datetime) -> int:
    """Write one delivery per `(event_type, body)` notice and interested receiver."""
    if not notices:
        return 0
    receivers = [_subscription(row) for row in await db.execute(select(webhook_subscriptions))]
    rows = [
        {
            "id": str(uuid.uuid4()),
            "subscription_id": receiver.id,
            "event_type": event_type,
            "body": body,
            "created_at": now,
            "next_attempt_at": now,
            "attempts": 0,
        }
        for event_type, body in notices
        for receiver in receivers
        if event_type in receiver.event_types
    ]
    if rows:
        await db.execute(insert(webhook_deliveries), rows)
    return len(rows)


async def due_deliveries(db: Executor, now: datetime, limit: int) -> list[Delivery]:
    """Deliveries whose next attempt is due, oldest first."""
    statement = (
        select(
            webhook_deliveries.c.id,
            webhook_subscriptions.c.url,
            webhook_subscriptions.c.secret,
            webhook_deliveries.c.event_type,
            webhook_deliveries.c.body,
            webhook_deliveries.c.attempts,
            webhook_deliveries.c.created_at,
        )
        .join(webhook_subscriptions)
        .where(webhook_deliveries.c.next_attempt_at <= now)
        .order_by(webhook_deliveries.c.next_attempt_at)
        .limit(limit)
    )
    return [Delivery(*row) for row in await db.execute(statement)]


async def record_attempt(
    db: Executor,
    delivery_id: str,
    *,
    attempts: int,
    status: int | None,
    error: str | None,
    settled: Settled,
) -> None:
    """Note how an attempt went and when (if ever) to try again."""
    await db.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            attempts=attempts,
            last_status=status,
            last_error=error,
            next_attempt_at=settled.next_attempt_at,
            delivered_at=settled.delivered_at,
            abandoned_at=settled.abandoned_at,
        )
    )


async def deliveries_of(db: Executor, subscription_id: str, limit: int) -> list[dict[str, Any]]:
    """The latest deliveries to one receiver, newest first."""
    rows = await db.execute(
        select(webhook_deliveries)
        .where(webhook_deliveries.c.subscription_id == subscription_id)
        .order_by(webhook_deliveries.c.created_at.desc())
        .limit(limit)
    )
    return [
        {
            "id": row.id,
            "event_type": row.event_type,
            "attempts": row.attempts,
            "created_at": row.created_at,
            "next_attempt_at": row.next_attempt_at,
            "delivered_at": row.delivered_at,
            "abandoned_at": row.abandoned_at,
            "last_status": row.last_status,
            "last_error": row.last_error,
        }
        for row in rows
    ]
