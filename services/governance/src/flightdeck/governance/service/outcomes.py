"""Use cases fed by deployments and health checks: the outcome history and what it does to
changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from flightdeck.events.catalogue.executor import DeploymentFinished, DeploymentStarted
from flightdeck.events.catalogue.validation import HealthCheckFailed, Severity
from flightdeck.governance.db.history import UNKNOWN_TEAM, DeploymentRecord, HealthFailure
from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.governance.domain import outcomes
from flightdeck.governance.domain.changes import Outcome
from flightdeck.governance.domain.model import ChangeRequest
from flightdeck.governance.service.changes import current_policy, policy_of
from flightdeck.governance.service.recording import record_outcome


async def _stabilization(uow: GovernanceUnitOfWork) -> timedelta:
    """How long after a deployment failed checks are blamed on it (the policy in force)."""
    return timedelta(minutes=(await current_policy(uow.session)).policy.stabilization_minutes)


async def _apply(uow: GovernanceUnitOfWork, outcome: Outcome, now: datetime) -> None:
    if outcome.events or outcome.notes:
        await uow.changes.save(outcome.change, now)
        await record_outcome(uow, outcome, now)


async def deployment_started(
    uow: GovernanceUnitOfWork, event: DeploymentStarted, now: datetime
) -> None:
    """A scheduled change goes into implementation when its deployment starts."""
    async with uow:
        change = await uow.changes.get(event.change_id) if event.change_id else None
        if change is not None:
            await _apply(
                uow,
                outcomes.deployment_started(change, event.deployment_id, event.environment),
                now,
            )
        await uow.commit()


async def deployment_finished(
    uow: GovernanceUnitOfWork, event: DeploymentFinished, now: datetime
) -> None:
    """Learn the outcome (once per deployment id) and move the change it implements."""
    async with uow:
        record = DeploymentRecord(
            deployment_id=event.deployment_id,
            service=event.service,
            team=event.team or UNKNOWN_TEAM,
            environment=event.environment,
            tier=event.environment_tier.value,
            outcome=event.outcome.value,
            failed=event.outcome in outcomes.FAILED_OUTCOMES,
            finished_at=event.finished_at,
            change_id=event.change_id,
        )
        await uow.history.claim_failures(record, await _stabilization(uow))
        seen = await uow.history.failures_of(event.deployment_id)
        record = replace(record, failed=record.failed or bool(seen))
        fresh = await uow.history.record_deployment(record)
        change = await uow.changes.get(event.change_id) if fresh and event.change_id else None
        if change is not None:
            outcome = outcomes.deployment_finished(
                change,
                deployment_id=event.deployment_id,
                environment=event.environment,
                result=event.outcome,
                finished_at=event.finished_at,
                failures_seen=seen,
                policy=await policy_of(uow.session, change),
                now=now,
            )
            await _apply(uow, outcome, now)
        await uow.commit()


async def health_check_failed(
    uow: GovernanceUnitOfWork, event: HealthCheckFailed, now: datetime
) -> None:
    """Count the failure against its deployment (named, or the last one of the service in
    that environment within the stabilization period) and the change it implemented.
    Informational checks are ignored."""
    async with uow:
        if event.severity is not Severity.INFO:
            await _record_failure(uow, event, now)
        await uow.commit()


async def _record_failure(
    uow: GovernanceUnitOfWork, event: HealthCheckFailed, now: datetime
) -> None:
    history = uow.history
    if event.deployment_id:
        deployment = await history.deployment(event.deployment_id)
    else:
        deployment = await history.latest_before(
            event.service, event.environment, event.detected_at, await _stabilization(uow)
        )
    failure = HealthFailure(
        deployment_id=deployment.deployment_id if deployment else event.deployment_id,
        service=event.service,
        environment=event.environment,
        check=event.check,
        severity=event.severity.value,
        detected_at=event.detected_at,
        reported_deployment_id=event.deployment_id,
    )
    if not await history.record_failure(failure) or deployment is None:
        return  # known already, or its deployment has not arrived (it will look for it)
    await history.mark_failed(deployment)
    for change in await uow.changes.by_deployment(deployment.deployment_id, deployment.change_id):
        outcome = outcomes.health_check_failed(
            change,
            check=event.check,
            detected_at=event.detected_at,
            deployed_at=deployment.finished_at,
            policy=await policy_of(uow.session, change),
            now=now,
        )
        await _apply(uow, outcome, now)


async def close_stabilized(uow: GovernanceUnitOfWork, now: datetime) -> list[ChangeRequest]:
    """Close the changes whose stabilization period passed without a failure."""
    closed = []
    async with uow:
        for change in await uow.changes.stabilizing():
            outcome = outcomes.stabilized(change, await policy_of(uow.session, change), now)
            if outcome.events:
                await _apply(uow, outcome, now)
                closed.append(change)
        await uow.commit()
    return closed
