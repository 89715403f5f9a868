"""Events published by the governance service on `flightdeck.governance.events`."""

from enum import StrEnum
from typing import ClassVar

from flightdeck.events.catalogue.common import Part
from flightdeck.events.envelope import Event
from flightdeck.events.types import NonEmptyStr, UtcDatetime


class Classification(StrEnum):
    STANDARD = "standard"
    NORMAL = "normal"
    EMERGENCY = "emergency"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class CloseCode(StrEnum):
    SUCCESSFUL = "successful"
    SUCCESSFUL_WITH_ISSUES = "successful_with_issues"
    UNSUCCESSFUL = "unsuccessful"
    CANCELLED = "cancelled"


class Approval(Part):
    approver: NonEmptyStr
    role: NonEmptyStr
    at: UtcDatetime


class _GovernanceEvent(Event):
    producer: ClassVar[str] = "governance"
    subject_field: ClassVar[str] = "change_id"


class ChangeRequested(_GovernanceEvent):
    ce_type: ClassVar[str] = "flightdeck.change.requested.v1"

    change_id: NonEmptyStr
    release_id: str | None = None
    classification: Classification
    risk_score: float
    risk_level: RiskLevel
    services: list[NonEmptyStr]
    environment: NonEmptyStr
    planned_start: UtcDatetime
    planned_end: UtcDatetime
    title: str | None = None
    requested_by: str | None = None
    policy_version: int | None = None


class ChangeApproved(_GovernanceEvent):
    ce_type: ClassVar[str] = "flightdeck.change.approved.v1"

    change_id: NonEmptyStr
    release_id: str | None = None
    classification: Classification
    risk_level: RiskLevel
    approvals: list[Approval]
    conditions: list[str]
    oversight_required: bool
    services: list[str] | None = None
    environment: str | None = None


class ChangeRejected(_GovernanceEvent):
    ce_type: ClassVar[str] = "flightdeck.change.rejected.v1"

    change_id: NonEmptyStr
    release_id: str | None = None
    rejected_by: NonEmptyStr
    reason: str


class ChangeEscalated(_GovernanceEvent):
    ce_type: ClassVar[str] = "flightdeck.change.escalated.v1"

    change_id: NonEmptyStr
    to_role: NonEmptyStr
    reason: str
    release_id: str | None = None


class ChangeClosed(_GovernanceEvent):
    ce_type: ClassVar[str] = "flightdeck.change.closed.v1"

    change_id: NonEmptyStr
    close_code: CloseCode
    closed_at: UtcDatetime
    release_id: str | None = None
    notes: str | None = None
