"""Events published by the planning service on `flightdeck.planning.events`."""

from datetime import date
from enum import StrEnum
from typing import ClassVar

from flightdeck.events.catalogue.common import Commit, Comparator, Part
from flightdeck.events.envelope import Event
from flightdeck.events.types import NonEmptyStr, UtcDatetime


class ItemKind(StrEnum):
    FEATURE = "feature"
    FIX = "fix"
    CHORE = "chore"


class SignoffFunction(StrEnum):
    DEV = "dev"
    QA = "qa"
    SECURITY = "security"
    OPS = "ops"


class SignoffDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ScopeItem(Part):
    item_id: NonEmptyStr
    kind: ItemKind
    title: NonEmptyStr
    priority: int
    regulatory: bool
    depends_on: list[str] = []
    commits: list[Commit] = []
    feature_toggle: str | None = None


class RollbackCriterion(Part):
    metric: NonEmptyStr
    comparator: Comparator
    threshold: float
    window_seconds: int


class FeatureToggle(Part):
    key: NonEmptyStr
    owner: NonEmptyStr
    default: bool
    remove_by: date
    description: str | None = None


class Signoff(Part):
    function: SignoffFunction
    decision: SignoffDecision
    signer: NonEmptyStr
    at: UtcDatetime
    note: str | None = None


class _PlanningEvent(Event):
    producer: ClassVar[str] = "planning"
    subject_field: ClassVar[str] = "release_id"


class ReleasePlanned(_PlanningEvent):
    ce_type: ClassVar[str] = "flightdeck.release.planned.v1"

    release_id: NonEmptyStr
    name: NonEmptyStr
    version: NonEmptyStr
    services: list[NonEmptyStr]
    team: NonEmptyStr
    target_environment: NonEmptyStr
    planned_start: UtcDatetime
    planned_end: UtcDatetime
    owner: NonEmptyStr


class ReleaseScoped(_PlanningEvent):
    ce_type: ClassVar[str] = "flightdeck.release.scoped.v1"

    release_id: NonEmptyStr
    version: NonEmptyStr
    services: list[NonEmptyStr]
    team: NonEmptyStr
    target_environment: NonEmptyStr
    items: list[ScopeItem]
    rollback_criteria: list[RollbackCriterion]
    feature_toggles: list[FeatureToggle]
    signoffs: list[Signoff]
    scoped_at: UtcDatetime
    name: str | None = None
    owner: str | None = None
    planned_start: UtcDatetime | None = None
    planned_end: UtcDatetime | None = None


class ScopeReduced(_PlanningEvent):
    ce_type: ClassVar[str] = "flightdeck.release.scope_reduced.v1"

    release_id: NonEmptyStr
    removed_item_ids: list[NonEmptyStr]
    reason: str
    reduced_at: UtcDatetime | None = None
    reduced_by: str | None = None


class ReleaseReadinessSigned(_PlanningEvent):
    ce_type: ClassVar[str] = "flightdeck.release.readiness_signed.v1"

    release_id: NonEmptyStr
    function: SignoffFunction
    decision: SignoffDecision
    signer: NonEmptyStr
    signed_at: UtcDatetime
    note: str | None = None


class ReleaseCancelled(_PlanningEvent):
    ce_type: ClassVar[str] = "flightdeck.release.cancelled.v1"

    release_id: NonEmptyStr
    reason: str
    cancelled_at: UtcDatetime
    cancelled_by: str | None = None


class BlackoutReason(StrEnum):
    PEAK = "peak"
    CAMPAIGN = "campaign"
    REGULATORY = "regulatory"
    OTHER = "other"


class BlackoutDeclared(Event):
    """A blackout period entered the business calendar (governance mirrors it for conflicts).

    `starts_at`/`ends_at` bound the first occurrence; with `rrule` (RFC 5545, evaluated in
    `timezone` on local wall-clock time) it recurs with the same local duration.
    Empty `services` and `teams` mean everyone.
    """

    ce_type: ClassVar[str] = "flightdeck.calendar.blackout_declared.v1"
    producer: ClassVar[str] = "planning"
    subject_field: ClassVar[str] = "blackout_id"

    blackout_id: NonEmptyStr
    name: NonEmptyStr
    reason: BlackoutReason
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    timezone: NonEmptyStr
    rrule: str | None = None
    services: list[NonEmptyStr] = []
    teams: list[NonEmptyStr] = []
    declared_by: str | None = None


class BlackoutWithdrawn(Event):
    """A blackout period was removed from the business calendar."""

    ce_type: ClassVar[str] = "flightdeck.calendar.blackout_withdrawn.v1"
    producer: ClassVar[str] = "planning"
    subject_field: ClassVar[str] = "blackout_id"

    blackout_id: NonEmptyStr
    withdrawn_at: UtcDatetime
    withdrawn_by: str | None = None
