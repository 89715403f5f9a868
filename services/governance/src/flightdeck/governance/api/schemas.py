"""Request and response bodies of the governance API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from flightdeck.governance.domain.audit import ChainCheck
from flightdeck.governance.domain.classification import ChangeTemplate
from flightdeck.governance.domain.conflicts import Conflict
from flightdeck.governance.domain.itsm import change_number
from flightdeck.governance.domain.lifecycle import ChangeDraft
from flightdeck.governance.domain.model import (
    ChangeRequest,
    ChangeState,
    Classification,
    CloseCode,
    Complexity,
    Decision,
    Impact,
    RiskLevel,
    Urgency,
)
from flightdeck.governance.domain.policy import Policy
from flightdeck.governance.domain.webhooks import EVENT_TYPES
from flightdeck.kit.times import Moment

Name = Field(min_length=1, max_length=200)
Environment = Field(min_length=1, max_length=100)
ServiceName = Annotated[str, Field(min_length=1, max_length=200)]
MAX_PLANNED_LENGTH = timedelta(days=366)
"""The longest planned window of a change."""


def _known_event_types(types: list[str]) -> list[str]:
    unknown = sorted(set(types) - EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types {unknown}; use {sorted(EVENT_TYPES)}")
    return list(dict.fromkeys(types))


class Body(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Window(Body):
    """Something planned from `planned_start` to a later `planned_end`."""

    planned_start: Moment
    planned_end: Moment

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.planned_end <= self.planned_start:
            raise ValueError("planned_end must be after planned_start")
        if self.planned_end - self.planned_start > MAX_PLANNED_LENGTH:
            raise ValueError("a change is planned for at most 366 days")
        return self


class NewChange(Window):
    """`POST /changes`."""

    title: str = Field(min_length=1, max_length=300)
    release_id: str | None = Field(None, min_length=1, max_length=200)
    services: list[ServiceName] = Field(min_length=1, max_length=100)
    environment: str = Environment
    team: str | None = Field(None, min_length=1, max_length=200)
    urgency: Urgency
    impact: Impact
    complexity: Complexity
    schema_changes: bool
    template_id: str | None = None

    def draft(self, change_id: str, requester: str) -> ChangeDraft:
        """The draft the use case opens."""
        fields = self.model_dump(exclude={"services"})
        services = tuple(dict.fromkeys(self.services))
        return ChangeDraft(id=change_id, requested_by=requester, services=services, **fields)


class NewDecision(Body):
    """`POST /changes/{id}/approvals`."""

    decision: Decision
    comment: str = Field("", max_length=4000)


class NewReview(Body):
    """`POST /changes/{id}/review`."""

    outcome: Literal["successful", "successful_with_issues", "unsuccessful"]
    lessons: str = Field("", max_length=20000)
    actions: list[str] = Field(default=[], max_length=100)


class Cancellation(Body):
    """`POST /changes/{id}/cancel`."""

    reason: str = Field(min_length=1, max_length=4000)


class NewTemplate(Body):
    """`POST /templates`."""

    name: str = Name
    description: str = Field("", max_length=4000)
    services: list[ServiceName] = Field(min_length=1, max_length=100)
    environment: str | None = Field(None, min_length=1, max_length=100)
    max_impact: Impact = Impact.LOW
    max_complexity: Complexity = Complexity.LOW
    allows_schema_changes: bool = False

    def template(self) -> ChangeTemplate:
        """The template (its id is assigned when stored)."""
        return ChangeTemplate(
            id="",
            name=self.name,
            services=tuple(dict.fromkeys(self.services)),
            environment=self.environment,
            max_impact=self.max_impact,
            max_complexity=self.max_complexity,
            allows_schema_changes=self.allows_schema_changes,
        )


class PolicyUpdate(Policy):
    """`PUT /policies`: the whole new policy, and why it changes."""

    note: str = Field("", max_length=4000)

    def policy(self) -> Policy:
        """The policy without the note."""
        return Policy.model_validate(self.model_dump(exclude={"note"}))


class NewSubscription(Body):
    """`POST /subscriptions`."""

    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=500)
    event_types: Annotated[list[str], AfterValidator(_known_event_types)] = Field(min_length=1)


class View(BaseModel):
    """A response body read from a domain object's attributes (`View.model_validate(obj)`)."""

    model_config = ConfigDict(from_attributes=True)


class ApprovalView(View):
    approver: str
    role: str
    decision: Decision
    comment: str
    at: datetime


class ConflictView(View):
    kind: Literal["change", "blackout"]
    id: str
    reason: str
    starts_at: datetime
    ends_at: datetime


class ChangeView(BaseModel):
    """A change request."""

    id: str
    number: str
    title: str
    release_id: str | None
    services: list[str]
    team: str | None
    environment: str
    urgency: Urgency
    impact: Impact
    complexity: Complexity
    schema_changes: bool
    planned_start: datetime
    planned_end: datetime
    template_id: str | None
    classification: Classification
    risk_score: float
    risk_level: RiskLevel
    policy_version: int
    state: ChangeState
    requested_by: str
    oversight_required: bool
    close_code: CloseCode | None
    closed_at: datetime | None
    approved_at: datetime | None
    review_due_at: datetime | None
    reviewed_at: datetime | None
    review_overdue: bool
    review: dict[str, Any] | None
    deployment_id: str | None
    implemented_at: datetime | None
    created_at: datetime
    version: int
    approvals: list[ApprovalView]
    conflicts: list[ConflictView] | None = None

    @classmethod
    def of(
        cls, change: ChangeRequest, now: datetime, conflicts: list[Conflict] | None = None
    ) -> ChangeView:
        values = {name: getattr(change, name) for name in cls.model_fields if hasattr(change, name)}
        values.update(
            number=change_number(change.number or 0),
            review_overdue=change.review_overdue(now),
            approvals=[ApprovalView.model_validate(a) for a in change.approvals],
            conflicts=[ConflictView.model_validate(c) for c in conflicts]
            if conflicts is not None
            else None,
        )
        return cls.model_validate(values)


class RiskFactorView(BaseModel):
    factor: str
    weight: float
    value: float
    contribution: float
    detail: str


class RiskView(BaseModel):
    change_id: str
    score: float
    level: RiskLevel
    policy_version: int
    factors: list[RiskFactorView]


class PolicyView(View):
    version: int
    created_by: str
    created_at: datetime
    note: str
    policy: Policy


class TemplateView(BaseModel):
    id: str
    name: str
    description: str
    services: list[str]
    environment: str | None
    max_impact: Impact
    max_complexity: Complexity
    allows_schema_changes: bool

    @classmethod
    def of(cls, template: ChangeTemplate, description: str) -> TemplateView:
        values = {
            name: getattr(template, name) for name in cls.model_fields if name != "description"
        }
        return cls.model_validate(
            {**values, "services": list(template.services), "description": description}
        )


class SubscriptionView(View):
    """A receiver (its secret is never shown)."""

    id: str
    url: str
    event_types: list[str]
    created_by: str
    created_at: datetime


class AuditRecordView(View):
    seq: int
    subject: str
    action: str
    actor: str
    at: datetime
    reason: str
    evidence: dict[str, Any]
    previous_hash: str
    hash: str


class BrokenRecord(BaseModel):
    seq: int
    problem: str


class VerificationView(BaseModel):
    """The result of re-computing the chain."""

    ok: bool
    checked: int
    first_broken: BrokenRecord | None

    @classmethod
    def of(cls, check: ChainCheck) -> VerificationView:
        broken = None
        if check.broken_at is not None:
            broken = BrokenRecord(seq=check.broken_at, problem=check.problem or "broken")
        return cls(ok=broken is None, checked=check.checked, first_broken=broken)


class FailureRateGroup(BaseModel):
    group: str
    numerator: int
    denominator: int
    rate: float | None


class FailureRatesView(BaseModel):
    group_by: Literal["service", "team"]
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    groups: list[FailureRateGroup]
