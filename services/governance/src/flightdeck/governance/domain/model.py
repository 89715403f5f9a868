"""Change requests: their states, inputs and the records kept about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flightdeck.events.catalogue.governance import Classification, CloseCode, RiskLevel

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "ApprovalRecord",
    "ChangeRequest",
    "ChangeState",
    "Classification",
    "CloseCode",
    "Complexity",
    "Decision",
    "Impact",
    "RiskLevel",
    "Urgency",
]


class Urgency(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Impact(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Complexity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ChangeState(StrEnum):
    """`new → assess → authorize → scheduled → implement → review → closed`, or an end early
    in `rejected` or `cancelled`."""

    NEW = "new"
    ASSESS = "assess"
    AUTHORIZE = "authorize"
    SCHEDULED = "scheduled"
    IMPLEMENT = "implement"
    REVIEW = "review"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({ChangeState.CLOSED, ChangeState.REJECTED, ChangeState.CANCELLED})
ACTIVE_STATES = frozenset(ChangeState) - TERMINAL_STATES


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One person's decision on a change, in the role it counts for."""

    approver: str
    role: str
    decision: Decision
    at: datetime
    comment: str = ""


@dataclass(slots=True)
class ChangeRequest:
    """A request to change production (or any environment), judged by one policy version."""

    id: str
    title: str
    services: list[str]
    environment: str
    urgency: Urgency
    impact: Impact
    complexity: Complexity
    schema_changes: bool
    planned_start: datetime
    planned_end: datetime
    requested_by: str
    created_at: datetime
    classification: Classification
    risk_score: float
    risk_level: RiskLevel
    policy_version: int
    state: ChangeState = ChangeState.NEW
    team: str | None = None
    release_id: str | None = None
    template_id: str | None = None
    number: int | None = None
    oversight_required: bool = False
    close_code: CloseCode | None = None
    closed_at: datetime | None = None
    approved_at: datetime | None = None
    review_due_at: datetime | None = None
    reviewed_at: datetime | None = None
    review: dict[str, object] | None = None
    deployment_id: str | None = None
    implemented_at: datetime | None = None
    version: int = 1
    approvals: list[ApprovalRecord] = field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        """Whether nothing can happen to the change any more (closed, rejected, cancelled)."""
        return self.state in TERMINAL_STATES

    def review_overdue(self, now: datetime) -> bool:
        """Whether a required post-implementation review is late."""
        return (
            self.review_due_at is not None and self.reviewed_at is None and now > self.review_due_at
        )
