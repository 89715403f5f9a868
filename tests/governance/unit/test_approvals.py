"""Approval rules: quorum by classification and risk, segregation of duties, one decision per
person, rejection, escalation and the emergency review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from flightdeck.events.catalogue.governance import ChangeApproved, ChangeEscalated, ChangeRejected
from flightdeck.governance.domain.approvals import decide
from flightdeck.governance.domain.changes import NotPermitted, Outcome, WrongState
from flightdeck.governance.domain.model import (
    ChangeRequest,
    ChangeState,
    Classification,
    Complexity,
    Decision,
    Impact,
    RiskLevel,
    Urgency,
)
from flightdeck.governance.domain.policy import DEFAULT_POLICY
from flightdeck.governance.domain.risk import FailureHistory
from tests.governance.unit.factories import NOW, opened

CRITICAL: dict[str, Any] = {
    "impact": Impact.HIGH,
    "complexity": Complexity.HIGH,
    "schema_changes": True,
    "history": FailureHistory(4, 4),
    "outside_business_hours": True,
}


def _approve(
    change: ChangeRequest, subject: str, *roles: str, decision: Decision = Decision.APPROVE
) -> Outcome:
    return decide(
        change,
        subject=subject,
        held_roles=roles,
        decision=decision,
        comment="",
        policy=DEFAULT_POLICY,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("risk", "level", "approvers"),
    [
        ({}, RiskLevel.LOW, [("ann", "cab")]),
        (
            {"impact": Impact.HIGH, "complexity": Complexity.MEDIUM},
            RiskLevel.MEDIUM,
            [("ann", "cab"), ("bob", "cab")],
        ),
        (
            {"impact": Impact.HIGH, "complexity": Complexity.HIGH, "schema_changes": True},
            RiskLevel.HIGH,
            [("ann", "cab"), ("bob", "cab"), ("cyd", "cab")],
        ),
        (
            CRITICAL,
            RiskLevel.CRITICAL,
            [("ann", "cab"), ("bob", "cab"), ("cyd", "cab"), ("sam", "senior_ops")],
        ),
    ],
)
def test_normal_change_needs_the_quorum_of_its_risk(
    risk: dict[str, Any], level: RiskLevel, approvers: list[tuple[str, str]]
) -> None:
    change = opened(**risk)
    assert change.classification is Classification.NORMAL
    assert change.risk_level is level
    for subject, role in approvers[:-1]:
        outcome = _approve(change, subject, role)
        assert change.state is ChangeState.AUTHORIZE
        assert not outcome.events
    outcome = _approve(change, *approvers[-1])
    assert change.state is ChangeState.SCHEDULED
    [approved] = outcome.events
    assert isinstance(approved, ChangeApproved)
    assert [a.approver for a in approved.approvals] == [s for s, _ in approvers]
    assert approved.oversight_required is (level in (RiskLevel.HIGH, RiskLevel.CRITICAL))


def test_requester_never_decides_on_their_own_change() -> None:
    change = opened()
    with pytest.raises(NotPermitted, match="segregation of duties: rita requested"):
        _approve(change, "rita", "cab")
    assert change.approvals == []


def test_the_same_person_counts_once() -> None:
    change = opened(impact=Impact.HIGH, complexity=Complexity.MEDIUM)
    _approve(change, "ann", "cab")
    with pytest.raises(WrongState, match="counts once"):
        _approve(change, "ann", "cab")
    assert change.state is ChangeState.AUTHORIZE
    assert len(change.approvals) == 1


def test_critical_change_needs_senior_ops_beside_three_cab_members() -> None:
    change = opened(**CRITICAL)
    for subject in ("ann", "bob", "cyd", "dan"):
        _approve(change, subject, "cab")
    assert change.state is ChangeState.AUTHORIZE
    _approve(change, "sam", "cab", "senior_ops")
    assert change.state is ChangeState.SCHEDULED
    assert {a.role for a in change.approvals if a.approver == "sam"} == {"senior_ops"}


def test_emergency_change_needs_one_senior_ops_and_a_review_in_five_days() -> None:
    change = opened(urgency=Urgency.CRITICAL)
    assert change.classification is Classification.EMERGENCY
    with pytest.raises(
        NotPermitted, match=r"^emergency changes at low risk are decided by the senior_ops role"
    ):
        _approve(change, "ann", "cab")
    outcome = _approve(change, "sam", "senior_ops")
    assert change.state is ChangeState.SCHEDULED
    assert change.review_due_at == NOW + timedelta(days=5)
    assert not change.review_overdue(NOW + timedelta(days=5))
    assert change.review_overdue(NOW + timedelta(days=5, seconds=1))
    [approved] = outcome.events
    assert isinstance(approved, ChangeApproved)
    assert any("post-implementation review" in c for c in approved.conditions)


def test_any_rejection_ends_the_change() -> None:
    change = opened(impact=Impact.HIGH, complexity=Complexity.MEDIUM)
    _approve(change, "ann", "cab")
    outcome = _approve(change, "bob", "cab", decision=Decision.REJECT)
    assert change.state is ChangeState.REJECTED
    assert isinstance(outcome.events[0], ChangeRejected)
    with pytest.raises(WrongState, match="rejected"):
        _approve(change, "cyd", "cab")


def test_standard_change_is_approved_by_policy_at_once() -> None:
    change = opened(template_matches=True)
    assert change.classification is Classification.STANDARD
    assert change.state is ChangeState.SCHEDULED
    [approval] = change.approvals
    assert (approval.approver, approval.role) == ("policy:v1", "policy")


def test_high_risk_is_escalated_when_opened() -> None:
    from flightdeck.governance.domain.lifecycle import open_change
    from flightdeck.governance.domain.risk import assess_risk
    from tests.governance.unit.factories import draft, inputs

    risk = assess_risk(inputs(**CRITICAL), DEFAULT_POLICY)
    outcome = open_change(
        draft(), risk=risk, template_matches=False, policy=DEFAULT_POLICY, policy_version=1, now=NOW
    )
    escalations = [e for e in outcome.events if isinstance(e, ChangeEscalated)]
    assert [e.to_role for e in escalations] == ["senior_ops"]
    assert outcome.change.oversight_required
    assert [n.action for n in outcome.notes] == [
        "created",
        "state:assess",
        "escalation",
        "state:authorize",
    ]
