"""Every event type Flightdeck publishes, and the registry from `ce_type` to model."""

from flightdeck.events.catalogue.environments import (
    ConnectivityChecked,
    DriftDetected,
    EnvironmentExpired,
    EnvironmentRegistered,
    EnvironmentReserved,
    ReservationReleased,
)
from flightdeck.events.catalogue.executor import (
    ChangeMerged,
    DeploymentFinished,
    DeploymentQueued,
    DeploymentStarted,
    DeploymentStepCompleted,
    PipelineRunFinished,
    WindowClosed,
    WindowOpened,
)
from flightdeck.events.catalogue.governance import (
    ChangeApproved,
    ChangeClosed,
    ChangeEscalated,
    ChangeRejected,
    ChangeRequested,
)
from flightdeck.events.catalogue.planning import (
    BlackoutDeclared,
    BlackoutWithdrawn,
    ReleaseCancelled,
    ReleasePlanned,
    ReleaseReadinessSigned,
    ReleaseScoped,
    ScopeReduced,
)
from flightdeck.events.catalogue.validation import (
    AnomalyRecorded,
    HealthCheckFailed,
    QualityGateEvaluated,
    ServiceRestored,
    VerificationPassed,
    VerificationStarted,
)
from flightdeck.events.envelope import Event

ALL_EVENTS: tuple[type[Event], ...] = (
    ReleasePlanned,
    ReleaseScoped,
    ScopeReduced,
    ReleaseReadinessSigned,
    ReleaseCancelled,
    BlackoutDeclared,
    BlackoutWithdrawn,
    ChangeRequested,
    ChangeApproved,
    ChangeRejected,
    ChangeEscalated,
    ChangeClosed,
    EnvironmentRegistered,
    EnvironmentReserved,
    ReservationReleased,
    EnvironmentExpired,
    DriftDetected,
    ConnectivityChecked,
    WindowOpened,
    WindowClosed,
    DeploymentQueued,
    DeploymentStarted,
    DeploymentStepCompleted,
    DeploymentFinished,
    PipelineRunFinished,
    ChangeMerged,
    QualityGateEvaluated,
    VerificationStarted,
    VerificationPassed,
    HealthCheckFailed,
    ServiceRestored,
    AnomalyRecorded,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.ce_type: cls for cls in ALL_EVENTS}
"""The registry: CloudEvents type to model class."""


def event_class(ce_type: str) -> type[Event] | None:
    """The model of a CloudEvents type, or None when the type is unknown."""
    return EVENT_TYPES.get(ce_type)


__all__ = [cls.__name__ for cls in ALL_EVENTS] + ["ALL_EVENTS", "EVENT_TYPES", "event_class"]
