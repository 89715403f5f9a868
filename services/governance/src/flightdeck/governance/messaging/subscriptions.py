"""The events the governance service consumes, and their handlers. Each runs once per event
id (the inbox) and is idempotent by natural keys as well (release id, deployment id, the
health failure's own key, blackout id), so a replay under another event id changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from flightdeck.events.catalogue.executor import DeploymentFinished, DeploymentStarted
from flightdeck.events.catalogue.planning import (
    BlackoutDeclared,
    BlackoutWithdrawn,
    ReleaseCancelled,
    ReleaseScoped,
)
from flightdeck.events.catalogue.validation import HealthCheckFailed
from flightdeck.events.envelope import Envelope
from flightdeck.governance.db.calendar import declare_blackout, withdraw_blackout
from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.governance.domain.calendar import Blackout
from flightdeck.governance.service import changes, outcomes
from flightdeck.kit.context import utc_now
from flightdeck.kit.messaging import Subscriptions

subscriptions: Subscriptions[GovernanceUnitOfWork] = Subscriptions()

PLANNING_ACTOR = "planning"


def release_requester(envelope: Envelope[ReleaseScoped]) -> str:
    """Who requests a release's change: its owner, else the actor the event names."""
    return envelope.data.owner or envelope.extensions.get("actor") or PLANNING_ACTOR


@subscriptions.on(ReleaseScoped)
async def on_release_scoped(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    await changes.request_release_change(
        uow, envelope.data, release_requester(envelope), str(uuid.uuid4()), utc_now()
    )


@subscriptions.on(ReleaseCancelled)
async def on_release_cancelled(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    event: ReleaseCancelled = envelope.data
    await changes.cancel_release_change(
        uow, event.release_id, f"release cancelled: {event.reason}", utc_now()
    )


@subscriptions.on(DeploymentStarted)
async def on_deployment_started(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    await outcomes.deployment_started(uow, envelope.data, utc_now())


@subscriptions.on(DeploymentFinished)
async def on_deployment_finished(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    await outcomes.deployment_finished(uow, envelope.data, utc_now())


@subscriptions.on(HealthCheckFailed)
async def on_health_check_failed(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    await outcomes.health_check_failed(uow, envelope.data, utc_now())


@subscriptions.on(BlackoutDeclared)
async def on_blackout_declared(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    event: BlackoutDeclared = envelope.data
    blackout = Blackout(
        id=event.blackout_id,
        name=event.name,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        rrule=event.rrule,
        services=tuple(event.services),
        teams=tuple(event.teams),
    )
    async with uow:
        await declare_blackout(uow.session, blackout, event.reason.value)
        await uow.commit()


@subscriptions.on(BlackoutWithdrawn)
async def on_blackout_withdrawn(envelope: Envelope[Any], uow: GovernanceUnitOfWork) -> None:
    event: BlackoutWithdrawn = envelope.data
    async with uow:
        await withdraw_blackout(uow.session, event.blackout_id, event.withdrawn_at)
        await uow.commit()
