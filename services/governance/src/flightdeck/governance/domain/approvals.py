"""Approvals: who may decide, the quorum, segregation of duties and what approval causes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flightdeck.events.catalogue.governance import (
    Approval,
    ChangeApproved,
    ChangeRejected,
    Classification,
)
from flightdeck.governance.domain.changes import AuditNote, NotPermitted, Outcome, WrongState
from flightdeck.governance.domain.model import (
    ApprovalRecord,
    ChangeRequest,
    ChangeState,
    Decision,
)
from flightdeck.governance.domain.policy import Policy, Quorum

POLICY_ROLE = "policy"


def quorum_of(change: ChangeRequest, policy: Policy) -> Quorum:
    """The approvals `change` needs under `policy` (none for a standard change)."""
    if change.classification is Classification.STANDARD:
        return {}
    if change.classification is Classification.EMERGENCY:
        return dict(policy.quorums.emergency)
    return dict(policy.quorums.for_level(change.risk_level))


def missing_approvals(change: ChangeRequest, quorum: Quorum) -> Quorum:
    """Role → approvals still needed."""
    approvers = [a for a in change.approvals if a.decision is Decision.APPROVE]
    missing = {}
    for role, needed in quorum.items():
        have = len({a.approver for a in approvers if a.role == role})
        if have < needed:
            missing[role] = needed - have
    return missing


def decide(
    change: ChangeRequest,
    *,
    subject: str,
    held_roles: Iterable[str],
    decision: Decision,
    comment: str,
    policy: Policy,
    now: datetime,
) -> Outcome:
    """Record one person's decision. Refuses self-approval, second decisions by the same
    person, callers without an approving role and changes no longer awaiting approval."""
    if change.state is not ChangeState.AUTHORIZE:
        raise WrongState(
            f"change {change.id} is {change.state}; only changes awaiting approval "
            "(authorize) take decisions",
            rule="awaiting-approval",
        )
    if subject == change.requested_by:
        raise NotPermitted(
            f"segregation of duties: {subject} requested change {change.id} and cannot "
            f"{decision.value} it",
            rule="segregation-of-duties",
        )
    if any(a.approver == subject for a in change.approvals):
        raise WrongState(
            f"{subject} has already decided on change {change.id}; each person counts once",
            rule="one-decision-per-person",
        )
    quorum = quorum_of(change, policy)
    role = _role_for(change, quorum, set(held_roles))
    record = ApprovalRecord(subject, role, decision, now, comment)
    change.approvals.append(record)
    outcome = Outcome(change)
    evidence = {"role": role, "comment": comment, "policy_version": change.policy_version}
    if decision is Decision.REJECT:
        outcome.notes.append(_note("rejection", subject, comment or "rejected", evidence))
        outcome.move(ChangeState.REJECTED, subject, comment or "rejected")
        outcome.events.append(
            ChangeRejected(
                change_id=change.id,
                release_id=change.release_id,
                rejected_by=subject,
                reason=comment or "rejected",
            )
        )
        return outcome
    outcome.notes.append(_note("approval", subject, comment or "approved", evidence))
    if not missing_approvals(change, quorum):
        _approve(outcome, subject, policy, now)
    return outcome


def _note(action: str, actor: str, reason: str, evidence: dict[str, object]) -> AuditNote:
    return AuditNote(action, actor, reason, dict(evidence))


def _role_for(change: ChangeRequest, quorum: Quorum, held: set[str]) -> str:
    """The quorum role this person's decision counts for: one still short of approvals if
    they hold it, else any they hold."""
    eligible = [role for role in quorum if role in held]
    if not eligible:
        needed = " or ".join(quorum) or "an approving"
        raise NotPermitted(
            f"{change.classification} changes at {change.risk_level} risk are decided by the "
            f"{needed} role, which the caller does not hold",
            rule="approving-role",
        )
    missing = missing_approvals(change, quorum)
    return next((role for role in eligible if role in missing), eligible[0])


def approve_by_policy(outcome: Outcome, policy: Policy, now: datetime) -> None:
    """A standard change is approved at once, in the name of the policy version."""
    change = outcome.change
    approver = f"policy:v{change.policy_version}"
    change.approvals.append(
        ApprovalRecord(approver, POLICY_ROLE, Decision.APPROVE, now, "pre-approved template")
    )
    outcome.notes.append(
        _note(
            "approval",
            approver,
            "standard change matching a pre-approved template",
            {"template_id": change.template_id, "policy_version": change.policy_version},
        )
    )
    _approve(outcome, approver, policy, now)


def _approve(outcome: Outcome, actor: str, policy: Policy, now: datetime) -> None:
    change = outcome.change
    change.approved_at = now
    conditions = []
    if change.classification is Classification.EMERGENCY:
        change.review_due_at = now + timedelta(days=policy.review_due_days)
        conditions.append(f"post-implementation review due by {change.review_due_at.isoformat()}")
    if change.oversight_required:
        conditions.append("senior_ops oversight during implementation")
    outcome.move(ChangeState.SCHEDULED, actor, "approval quorum reached")
    outcome.events.append(
        ChangeApproved(
            change_id=change.id,
            release_id=change.release_id,
            classification=change.classification,
            risk_level=change.risk_level,
            approvals=[
                Approval(approver=a.approver, role=a.role, at=a.at)
                for a in change.approvals
                if a.decision is Decision.APPROVE
            ],
            conditions=conditions,
            oversight_required=change.oversight_required,
            services=list(change.services),
            environment=change.environment,
        )
    )
