"""What deployments and failed health checks do to the change they implement."""

from __future__ import annotations

from datetime import datetime, timedelta

from flightdeck.events.catalogue.executor import DeploymentOutcome
from flightdeck.events.catalogue.governance import ChangeClosed
from flightdeck.governance.domain import outcomes
from flightdeck.governance.domain.approvals import decide
from flightdeck.governance.domain.changes import Outcome
from flightdeck.governance.domain.lifecycle import submit_review
from flightdeck.governance.domain.model import (
    ChangeRequest,
    ChangeState,
    CloseCode,
    Decision,
    Urgency,
)
from flightdeck.governance.domain.policy import DEFAULT_POLICY, Policy
from tests.governance.unit.factories import NOW, opened

FINISHED = NOW + timedelta(hours=3)


def _scheduled(urgency: Urgency = Urgency.MEDIUM) -> ChangeRequest:
    change = opened(urgency=urgency)
    role = "senior_ops" if urgency is Urgency.CRITICAL else "cab"
    decide(
        change,
        subject="ann",
        held_roles=[role],
        decision=Decision.APPROVE,
        comment="",
        policy=DEFAULT_POLICY,
        now=NOW,
    )
    assert change.state is ChangeState.SCHEDULED
    return change


def _finish(
    change: ChangeRequest,
    result: DeploymentOutcome,
    seen: tuple[datetime, ...] = (),
    policy: Policy = DEFAULT_POLICY,
    *,
    deployment_id: str = "dep-1",
    finished_at: datetime = FINISHED,
    environment: str = "production",
) -> Outcome:
    return outcomes.deployment_finished(
        change,
        deployment_id=deployment_id,
        environment=environment,
        result=result,
        finished_at=finished_at,
        failures_seen=list(seen),
        policy=policy,
        now=finished_at,
    )


def _check_failed(
    change: ChangeRequest, detected_at: datetime, now: datetime = FINISHED
) -> Outcome:
    """A failed check of the deployment that finished at FINISHED."""
    return outcomes.health_check_failed(
        change,
        check="error_rate",
        detected_at=detected_at,
        deployed_at=FINISHED,
        policy=DEFAULT_POLICY,
        now=now,
    )


def _closed_codes(outcome: Outcome) -> list[CloseCode]:
    return [e.close_code for e in outcome.events if isinstance(e, ChangeClosed)]


def test_success_waits_in_review_for_the_stabilization_period() -> None:
    change = _scheduled()
    outcome = _finish(change, DeploymentOutcome.SUCCEEDED)
    assert change.state is ChangeState.REVIEW
    assert change.close_code is CloseCode.SUCCESSFUL
    assert [t for _, t in outcome.transitions] == [ChangeState.IMPLEMENT, ChangeState.REVIEW]
    assert not outcomes.stabilized(change, DEFAULT_POLICY, FINISHED + timedelta(minutes=59)).events
    closing = outcomes.stabilized(change, DEFAULT_POLICY, FINISHED + timedelta(minutes=60))
    assert _closed_codes(closing) == [CloseCode.SUCCESSFUL]
    assert change.state is ChangeState.CLOSED


def test_without_stabilization_success_closes_at_once() -> None:
    change = _scheduled()
    outcome = _finish(change, DeploymentOutcome.SUCCEEDED, policy=Policy(stabilization_minutes=0))
    assert _closed_codes(outcome) == [CloseCode.SUCCESSFUL]


def test_failed_or_rolled_back_deployment_closes_unsuccessful() -> None:
    for result in (DeploymentOutcome.FAILED, DeploymentOutcome.ROLLED_BACK):
        change = _scheduled()
        assert _closed_codes(_finish(change, result)) == [CloseCode.UNSUCCESSFUL]
        assert change.state is ChangeState.CLOSED


def test_health_failure_in_stabilization_makes_it_unsuccessful() -> None:
    change = _scheduled()
    _finish(change, DeploymentOutcome.SUCCEEDED)
    late = _check_failed(change, FINISHED + timedelta(hours=2))
    assert not late.events
    assert change.state is ChangeState.REVIEW
    early = _check_failed(change, FINISHED + timedelta(minutes=10))
    assert _closed_codes(early) == [CloseCode.UNSUCCESSFUL]


def test_health_failure_known_before_the_deployment_counts() -> None:
    change = _scheduled()
    outcome = _finish(change, DeploymentOutcome.SUCCEEDED, seen=(FINISHED + timedelta(minutes=5),))
    assert _closed_codes(outcome) == [CloseCode.UNSUCCESSFUL]


def test_a_cancelled_deployment_leaves_the_change_scheduled() -> None:
    change = _scheduled()
    outcome = _finish(change, DeploymentOutcome.CANCELLED)
    assert change.state is ChangeState.SCHEDULED
    assert not outcome.transitions


def test_emergency_change_waits_for_its_review_to_close() -> None:
    change = _scheduled(Urgency.CRITICAL)
    _finish(change, DeploymentOutcome.FAILED)
    assert change.state is ChangeState.REVIEW
    assert not outcomes.stabilized(change, DEFAULT_POLICY, FINISHED + timedelta(days=1)).events
    reviewed = submit_review(
        change,
        reviewer="sam",
        code=CloseCode.SUCCESSFUL_WITH_ISSUES,
        lessons="cache warmup",
        actions=["add warmup step"],
        now=FINISHED + timedelta(days=1),
    )
    # The review cannot turn a failed deployment into a success (failure rates count it).
    assert _closed_codes(reviewed) == [CloseCode.UNSUCCESSFUL]
    assert not change.review_overdue(FINISHED + timedelta(days=30))


def test_a_review_may_record_issues_a_successful_deployment_did_not_show() -> None:
    change = _scheduled(Urgency.CRITICAL)
    _finish(change, DeploymentOutcome.SUCCEEDED)
    reviewed = submit_review(
        change,
        reviewer="sam",
        code=CloseCode.SUCCESSFUL_WITH_ISSUES,
        lessons="slow cache warmup",
        actions=[],
        now=FINISHED + timedelta(days=1),
    )
    assert _closed_codes(reviewed) == [CloseCode.SUCCESSFUL_WITH_ISSUES]


def test_a_started_deployment_moves_a_scheduled_change_into_implementation() -> None:
    change = _scheduled()
    assert not outcomes.deployment_started(change, "dep-0", "staging").transitions
    assert change.state is ChangeState.SCHEDULED
    outcome = outcomes.deployment_started(change, "dep-1", "production")
    assert change.state is ChangeState.IMPLEMENT
    assert change.deployment_id == "dep-1"
    assert outcome.transitions == [(ChangeState.SCHEDULED, ChangeState.IMPLEMENT)]
    assert not outcomes.deployment_started(change, "dep-2", "production").transitions


def test_a_deployment_to_another_environment_leaves_the_change_alone() -> None:
    change = _scheduled()
    outcome = _finish(change, DeploymentOutcome.SUCCEEDED, environment="staging")
    assert change.state is ChangeState.SCHEDULED
    assert not outcome.transitions
    assert [note.action for note in outcome.notes] == ["deployment-ignored"]


def test_every_deployment_of_a_multi_service_change_counts() -> None:
    change = _scheduled()
    _finish(change, DeploymentOutcome.SUCCEEDED)
    assert change.state is ChangeState.REVIEW
    second_done = FINISHED + timedelta(minutes=30)
    _finish(change, DeploymentOutcome.SUCCEEDED, deployment_id="dep-2", finished_at=second_done)
    hour_after_first = FINISHED + timedelta(hours=1)
    assert not outcomes.stabilized(change, DEFAULT_POLICY, hour_after_first).events
    failed = _finish(
        change, DeploymentOutcome.FAILED, deployment_id="dep-3", finished_at=second_done
    )
    assert _closed_codes(failed) == [CloseCode.UNSUCCESSFUL]
    assert change.state is ChangeState.CLOSED


def test_a_failed_check_of_an_earlier_deployment_of_the_change_counts() -> None:
    change = _scheduled()
    _finish(change, DeploymentOutcome.SUCCEEDED)
    later = FINISHED + timedelta(minutes=30)
    _finish(change, DeploymentOutcome.SUCCEEDED, deployment_id="dep-2", finished_at=later)
    outcome = _check_failed(change, FINISHED + timedelta(minutes=20), now=later)
    assert _closed_codes(outcome) == [CloseCode.UNSUCCESSFUL]
