"""Events published by the validation service on `flightdeck.validation.events`."""

from enum import StrEnum
from typing import Any, ClassVar

from flightdeck.events.catalogue.common import Comparator, Part
from flightdeck.events.envelope import Event
from flightdeck.events.types import NonEmptyStr, UtcDatetime


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class RestoredHow(StrEnum):
    ROLLBACK = "rollback"
    FIX_FORWARD = "fix_forward"
    RESOLVED = "resolved"


class GateCondition(Part):
    metric: NonEmptyStr
    comparator: Comparator
    threshold: float
    actual: float | None
    passed: bool


class CheckResult(Part):
    check: NonEmptyStr
    passed: bool
    observed: float | None = None
    threshold: float | None = None
    detail: str | None = None


class _ValidationEvent(Event):
    producer: ClassVar[str] = "validation"
    subject_field: ClassVar[str] = "verification_id"


class _ServiceHealthEvent(_ValidationEvent):
    """Health events are keyed by service and environment so they stay ordered together."""

    service: NonEmptyStr
    environment: NonEmptyStr

    def event_subject(self) -> str:
        return f"{self.service}@{self.environment}"


class QualityGateEvaluated(_ValidationEvent):
    ce_type: ClassVar[str] = "flightdeck.quality_gate.evaluated.v1"
    subject_field: ClassVar[str] = "service"

    service: NonEmptyStr
    commit_sha: NonEmptyStr
    pipeline_run_id: str | None = None
    release_id: str | None = None
    passed: bool
    conditions: list[GateCondition]
    evaluated_at: UtcDatetime | None = None

    def event_correlation(self) -> str:
        return self.release_id or self.commit_sha


class VerificationStarted(_ValidationEvent):
    ce_type: ClassVar[str] = "flightdeck.verification.started.v1"

    verification_id: NonEmptyStr
    deployment_id: str | None = None
    release_id: str | None = None
    service: NonEmptyStr
    environment: NonEmptyStr
    started_at: UtcDatetime
    stabilization_seconds: int | None = None
    on_call: str | None = None


class VerificationPassed(_ValidationEvent):
    ce_type: ClassVar[str] = "flightdeck.verification.passed.v1"

    verification_id: NonEmptyStr
    deployment_id: str | None = None
    release_id: str | None = None
    service: NonEmptyStr
    environment: NonEmptyStr
    passed_at: UtcDatetime
    checks: list[CheckResult] = []


class HealthCheckFailed(_ServiceHealthEvent):
    ce_type: ClassVar[str] = "flightdeck.healthcheck.failed.v1"

    deployment_id: str | None = None
    release_id: str | None = None
    verification_id: str | None = None
    service: NonEmptyStr
    environment: NonEmptyStr
    check: NonEmptyStr
    observed: float
    threshold: float
    detected_at: UtcDatetime
    severity: Severity
    rollback_requested: bool


class ServiceRestored(_ServiceHealthEvent):
    ce_type: ClassVar[str] = "flightdeck.service.restored.v1"

    service: NonEmptyStr
    environment: NonEmptyStr
    failure_event_id: NonEmptyStr
    deployment_id: str | None = None
    restored_at: UtcDatetime
    how: RestoredHow


class AnomalyRecorded(_ServiceHealthEvent):
    ce_type: ClassVar[str] = "flightdeck.anomaly.recorded.v1"

    anomaly_id: NonEmptyStr
    service: NonEmptyStr
    environment: NonEmptyStr
    signal: NonEmptyStr
    observed: float
    detected_at: UtcDatetime
    expected: float | None = None
    deployment_id: str | None = None
    evidence: dict[str, Any] = {}
