"""Change outcomes: what deployments and failed health checks do to the change they serve."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flightdeck.events.catalogue.executor import DeploymentOutcome
from flightdeck.events.catalogue.governance import ChangeClosed, Classification
from flightdeck.governance.domain.changes import AuditNote, Outcome
from flightdeck.governance.domain.lifecycle import SYSTEM, close
from flightdeck.governance.domain.model import ChangeRequest, ChangeState, CloseCode
from flightdeck.governance.domain.policy import Policy

DEPLOYABLE = frozenset({ChangeState.SCHEDULED, ChangeState.IMPLEMENT})
FAILED_OUTCOMES = frozenset({DeploymentOutcome.FAILED, DeploymentOutcome.ROLLED_BACK})


def stabilization_end(change: ChangeRequest, policy: Policy) -> datetime | None:
    """Until when the change's last deployment is watched for failed health checks."""
    if change.implemented_at is None:
        return None
    return change.implemented_at + timedelta(minutes=policy.stabilization_minutes)


def within_stabilization(deployed_at: datetime, policy: Policy, moment: datetime) -> bool:
    """Whether `moment` falls in the stabilization period of a deployment finished at
    `deployed_at`."""
    return deployed_at <= moment <= deployed_at + timedelta(minutes=policy.stabilization_minutes)


def deployment_started(change: ChangeRequest, deployment_id: str, environment: str) -> Outcome:
    """A scheduled change goes into implementation when a deployment to its environment
    starts."""
    outcome = Outcome(change)
    if change.state is ChangeState.SCHEDULED and environment == change.environment:
        change.deployment_id = deployment_id
        outcome.move(
            ChangeState.IMPLEMENT, SYSTEM, "deployment started", deployment_id=deployment_id
        )
    return outcome


def deployment_finished(
    change: ChangeRequest,
    *,
    deployment_id: str,
    environment: str,
    result: DeploymentOutcome,
    finished_at: datetime,
    failures_seen: list[datetime],
    policy: Policy,
    now: datetime,
) -> Outcome:
    """Move the change to review or closed. A change on several services has a deployment
    per service: each one counts (a failed one makes the change unsuccessful; the last one
    starts the stabilization period). Deployments to another environment than the change's
    are only noted. `failures_seen` are the detection times of health-check failures of this
    deployment already known (they may come first)."""
    outcome = Outcome(change)
    evidence = {"deployment_id": deployment_id, "outcome": result, "environment": environment}
    if change.state not in DEPLOYABLE | {ChangeState.REVIEW} or environment != change.environment:
        reason = f"deployment {deployment_id} to {environment} finished while the change was "
        outcome.notes.append(
            AuditNote(
                "deployment-ignored",
                SYSTEM,
                reason + f"{change.state} (for {change.environment})",
                evidence,
            )
        )
        return outcome
    if result is DeploymentOutcome.CANCELLED:
        outcome.notes.append(
            AuditNote("deployment-cancelled", SYSTEM, "deployment cancelled", evidence)
        )
        return outcome
    failed = result in FAILED_OUTCOMES or any(
        within_stabilization(finished_at, policy, seen) for seen in failures_seen
    )
    if change.state is ChangeState.REVIEW:
        return _another_deployment(outcome, failed, finished_at, evidence, now)
    if change.state is ChangeState.SCHEDULED:
        outcome.move(ChangeState.IMPLEMENT, SYSTEM, "deployment ran", deployment_id=deployment_id)
    change.deployment_id = deployment_id
    change.implemented_at = finished_at
    code = CloseCode.UNSUCCESSFUL if failed else CloseCode.SUCCESSFUL
    change.close_code = code
    evidence["close_code"] = code
    if change.classification is Classification.EMERGENCY:
        outcome.move(
            ChangeState.REVIEW, SYSTEM, "awaiting the post-implementation review", **evidence
        )
    elif failed:
        outcome.move(ChangeState.REVIEW, SYSTEM, f"deployment {result}", **evidence)
        close(outcome, code, SYSTEM, f"deployment {deployment_id} {result}", now)
    elif policy.stabilization_minutes == 0:
        outcome.move(ChangeState.REVIEW, SYSTEM, "deployment succeeded", **evidence)
        close(outcome, code, SYSTEM, f"deployment {deployment_id} succeeded", now)
    else:
        outcome.move(ChangeState.REVIEW, SYSTEM, "stabilizing", **evidence)
    return outcome


def _another_deployment(
    outcome: Outcome, failed: bool, finished_at: datetime, evidence: dict[str, Any], now: datetime
) -> Outcome:
    """A further deployment of a change already in review (another of its services)."""
    change = outcome.change
    change.implemented_at = max(change.implemented_at or finished_at, finished_at)
    deployment = evidence["deployment_id"]
    if not failed:
        outcome.notes.append(
            AuditNote("deployment", SYSTEM, f"deployment {deployment} succeeded too", evidence)
        )
    elif change.classification is Classification.EMERGENCY:
        change.close_code = CloseCode.UNSUCCESSFUL
        outcome.notes.append(
            AuditNote("outcome", SYSTEM, f"deployment {deployment} failed", evidence)
        )
    else:
        close(outcome, CloseCode.UNSUCCESSFUL, SYSTEM, f"deployment {deployment} failed", now)
    return outcome


def health_check_failed(
    change: ChangeRequest,
    *,
    check: str,
    detected_at: datetime,
    deployed_at: datetime,
    policy: Policy,
    now: datetime,
) -> Outcome:
    """A failure within the stabilization period of one of the change's deployments (finished
    at `deployed_at`) makes the change unsuccessful (closing it unless an emergency review is
    pending; a change closed meanwhile gets its code corrected)."""
    outcome = Outcome(change)
    if not within_stabilization(deployed_at, policy, detected_at):
        return outcome
    if change.close_code is CloseCode.UNSUCCESSFUL and change.state is not ChangeState.REVIEW:
        return outcome
    reason = f"health check {check} failed at {detected_at.isoformat()} within stabilization"
    if change.state is ChangeState.REVIEW:
        change.close_code = CloseCode.UNSUCCESSFUL
        if change.classification is Classification.EMERGENCY:
            outcome.notes.append(
                AuditNote("outcome", SYSTEM, reason, {"close_code": "unsuccessful"})
            )
        else:
            close(outcome, CloseCode.UNSUCCESSFUL, SYSTEM, reason, now)
    elif change.state is ChangeState.CLOSED:
        change.close_code = CloseCode.UNSUCCESSFUL
        outcome.notes.append(
            AuditNote("close-code-corrected", SYSTEM, reason, {"close_code": "unsuccessful"})
        )
        outcome.events.append(
            ChangeClosed(
                change_id=change.id,
                close_code=CloseCode.UNSUCCESSFUL,
                closed_at=change.closed_at or now,
                release_id=change.release_id,
                notes=f"close code corrected: {reason}",
            )
        )
    return outcome


def stabilized(change: ChangeRequest, policy: Policy, now: datetime) -> Outcome:
    """Close a change whose stabilization period passed without failure."""
    outcome = Outcome(change)
    end = stabilization_end(change, policy)
    if (
        change.state is ChangeState.REVIEW
        and change.classification is not Classification.EMERGENCY
        and change.close_code is CloseCode.SUCCESSFUL
        and end is not None
        and now >= end
    ):
        close(outcome, CloseCode.SUCCESSFUL, SYSTEM, "stabilization period passed", now)
    return outcome
