"""Background work: sending webhooks and closing stabilized changes, each on one replica at
a time (a database lease)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from flightdeck.governance.db.policies import seed_default
from flightdeck.governance.service.outcomes import close_stabilized
from flightdeck.governance.service.webhooks import send_due
from flightdeck.governance.settings import GovernanceSettings
from flightdeck.kit.context import ServiceContext
from flightdeck.kit.leases import Lease


def _settings(context: ServiceContext) -> GovernanceSettings:
    settings = context.settings
    assert isinstance(settings, GovernanceSettings)
    return settings


async def seed_policy(context: ServiceContext) -> None:
    """Make sure policy version 1 exists (startup hook)."""
    async with context.engine.begin() as conn:
        await seed_default(conn, context.clock())


async def _while_leased(
    context: ServiceContext, name: str, interval: float, work: Callable[[], Awaitable[bool]]
) -> None:
    """Run `work` every `interval` seconds while holding lease `name`; at once again when it
    says more is waiting."""
    lease = Lease(context.engine, name)
    try:
        while True:
            more = await work() if await lease.held() else False
            if not more:
                await asyncio.sleep(interval)
    finally:
        await asyncio.shield(lease.release())


async def deliver_webhooks(context: ServiceContext) -> None:
    """Post due webhook deliveries, with retries, off the request path."""
    settings = _settings(context)
    retry = settings.webhook_retry()
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:

        async def work() -> bool:
            sent = await send_due(
                context.engine, client, retry, context.clock(), settings.webhook_batch_size
            )
            return sent >= settings.webhook_batch_size

        await _while_leased(context, "governance-webhooks", settings.webhook_poll_seconds, work)


async def close_changes(context: ServiceContext) -> None:
    """Close changes whose stabilization period passed without a failed health check."""

    async def work() -> bool:
        await close_stabilized(context.uow(), context.clock())
        return False

    interval = _settings(context).stabilization_check_seconds
    await _while_leased(context, "governance-stabilization", interval, work)
