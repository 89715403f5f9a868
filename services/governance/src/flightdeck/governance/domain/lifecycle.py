"""Opening a change, cancelling it and its post-implementation review."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from flightdeck.events.catalogue.governance import (
    ChangeClosed,
    ChangeEscalated,
    ChangeRequested,
    Classification,
)
from flightdeck.governance.domain.approvals import approve_by_policy
from flightdeck.governance.domain.changes import AuditNote, Outcome, WrongState
from flightdeck.governance.domain.classification import classify
from flightdeck.governance.domain.model import (
    ChangeRequest,
    ChangeState,
    CloseCode,
    Complexity,
    Impact,
    Urgency,
)
from flightdeck.governance.domain.policy import Policy, needs_oversight
from flightdeck.governance.domain.risk import RiskAssessment

SYSTEM = "governance"
"""The actor of decisions the service takes by itself."""

CANCELLABLE = frozenset(
    {ChangeState.NEW, ChangeState.ASSESS, ChangeState.AUTHORIZE, ChangeState.SCHEDULED}
)
REVIEWABLE = frozenset(
    {ChangeState.SCHEDULED, ChangeState.IMPLEMENT, ChangeState.REVIEW, ChangeState.CLOSED}
)


@dataclass(frozen=True, slots=True)
class ChangeDraft:
    """What a requester (or a scoped release) asks for."""

    id: str
    title: str
    services: tuple[str, ...]
    environment: str
    urgency: Urgency
    impact: Impact
    complexity: Complexity
    schema_changes: bool
    planned_start: datetime
    planned_end: datetime
    requested_by: str
    team: str | None = None
    release_id: str | None = None
    template_id: str | None = None


DRAFTED = [f.name for f in fields(ChangeDraft) if f.name != "services"]
"""What a change takes over from its draft as it is."""


def open_change(
    draft: ChangeDraft,
    *,
    risk: RiskAssessment,
    template_matches: bool,
    policy: Policy,
    policy_version: int,
    now: datetime,
) -> Outcome:
    """Create the change, assess and classify it, escalate it when risky, and approve it at
    once when it is standard."""
    classification = classify(draft.urgency, template_matches, risk.level)
    change = ChangeRequest(
        **{name: getattr(draft, name) for name in DRAFTED},
        services=list(draft.services),
        created_at=now,
        classification=classification,
        risk_score=risk.score,
        risk_level=risk.level,
        policy_version=policy_version,
        oversight_required=needs_oversight(policy, risk.level),
    )
    outcome = Outcome(change)
    outcome.notes.append(
        AuditNote("created", draft.requested_by, draft.title, {"release_id": draft.release_id})
    )
    outcome.move(
        ChangeState.ASSESS,
        SYSTEM,
        f"risk {risk.score:g} ({risk.level}), classified {classification}",
        risk_score=risk.score,
        risk_level=risk.level,
        classification=classification,
        policy_version=policy_version,
        template_id=draft.template_id,
        template_matches=template_matches,
    )
    outcome.events.append(_requested(change))
    if change.oversight_required:
        reason = f"{risk.level} risk ({risk.score:g})"
        outcome.events.append(
            ChangeEscalated(
                change_id=change.id,
                to_role="senior_ops",
                reason=reason,
                release_id=change.release_id,
            )
        )
        outcome.notes.append(AuditNote("escalation", SYSTEM, reason, {"to_role": "senior_ops"}))
    outcome.move(ChangeState.AUTHORIZE, SYSTEM, "awaiting approval")
    if classification is Classification.STANDARD:
        approve_by_policy(outcome, policy, now)
    return outcome


def _requested(change: ChangeRequest) -> ChangeRequested:
    return ChangeRequested(
        change_id=change.id,
        release_id=change.release_id,
        classification=change.classification,
        risk_score=change.risk_score,
        risk_level=change.risk_level,
        services=list(change.services),
        environment=change.environment,
        planned_start=change.planned_start,
        planned_end=change.planned_end,
        title=change.title,
        requested_by=change.requested_by,
        policy_version=change.policy_version,
    )


def close(outcome: Outcome, code: CloseCode, actor: str, reason: str, now: datetime) -> None:
    """Close the change with `code` and announce it."""
    change = outcome.change
    change.close_code = code
    change.closed_at = now
    target = ChangeState.CANCELLED if code is CloseCode.CANCELLED else ChangeState.CLOSED
    outcome.move(target, actor, reason, close_code=code)
    outcome.events.append(
        ChangeClosed(
            change_id=change.id,
            close_code=code,
            closed_at=now,
            release_id=change.release_id,
            notes=reason,
        )
    )


def cancel(change: ChangeRequest, actor: str, reason: str, now: datetime) -> Outcome:
    """Withdraw a change before its implementation started (an emergency change then owes
    no post-implementation review)."""
    if change.state not in CANCELLABLE:
        raise WrongState(
            f"change {change.id} is {change.state}; only changes not yet implemented can be "
            "cancelled",
            rule="cancellable",
        )
    outcome = Outcome(change)
    change.review_due_at = None  # nothing was implemented, so no review is owed
    close(outcome, CloseCode.CANCELLED, actor, reason or "cancelled", now)
    return outcome


def submit_review(
    change: ChangeRequest,
    *,
    reviewer: str,
    code: CloseCode,
    lessons: str,
    actions: list[str],
    now: datetime,
) -> Outcome:
    """Record the post-implementation review; it closes the change with its outcome (or the
    deployment's, when that was worse) unless the change is closed already."""
    if change.state not in REVIEWABLE or change.reviewed_at is not None:
        done = "has its review already" if change.reviewed_at else f"is {change.state}"
        raise WrongState(
            f"change {change.id} {done}; a review follows an approved change once",
            rule="reviewable",
        )
    if code is CloseCode.CANCELLED:
        raise WrongState(
            "a review outcome is successful, successful_with_issues or unsuccessful",
            rule="review-outcome",
        )
    review: dict[str, Any] = {"outcome": code, "lessons": lessons, "actions": actions}
    change.review = {**review, "reviewer": reviewer, "at": now.isoformat()}
    change.reviewed_at = now
    outcome = Outcome(change)
    outcome.notes.append(AuditNote("review", reviewer, lessons or str(code), review))
    if change.state is not ChangeState.CLOSED:
        final = worse(code, change.close_code)
        close(outcome, final, reviewer, f"post-implementation review: {code}", now)
    return outcome


SEVERITY = (CloseCode.SUCCESSFUL, CloseCode.SUCCESSFUL_WITH_ISSUES, CloseCode.UNSUCCESSFUL)
"""Close codes from best to worst."""


def worse(code: CloseCode, known: CloseCode | None) -> CloseCode:
    """The worse of a reviewer's close code and the one the deployment earned: a review adds
    issues, it never turns a failed deployment into a success."""
    if known not in SEVERITY:
        return code
    return max(code, known, key=SEVERITY.index)
