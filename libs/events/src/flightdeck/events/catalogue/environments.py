"""Events published by the environments service on `flightdeck.environments.events`."""

from enum import StrEnum
from typing import ClassVar

from flightdeck.events.catalogue.common import EnvironmentTier, Part
from flightdeck.events.envelope import Event
from flightdeck.events.types import NonEmptyStr, UtcDatetime


class ReservationIntent(StrEnum):
    CODE = "code"
    CONFIG = "config"
    READ_ONLY = "read_only"


class Flow(Part):
    """A network flow an environment needs, and what the check found."""

    source: NonEmptyStr
    target: NonEmptyStr
    port: int
    protocol: NonEmptyStr
    allowed: bool
    reachable: bool | None = None
    detail: str | None = None


class _EnvironmentEvent(Event):
    producer: ClassVar[str] = "environments"
    subject_field: ClassVar[str] = "environment"


class EnvironmentRegistered(_EnvironmentEvent):
    ce_type: ClassVar[str] = "flightdeck.environment.registered.v1"

    environment: NonEmptyStr
    tier: EnvironmentTier
    owners: list[str]
    template_source: str | None = None
    template_version: str | None = None
    temporary: bool | None = None


class EnvironmentReserved(_EnvironmentEvent):
    ce_type: ClassVar[str] = "flightdeck.environment.reserved.v1"

    environment: NonEmptyStr
    reservation_id: NonEmptyStr
    team: NonEmptyStr
    purpose: str
    intent: ReservationIntent
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    priority: int | None = None


class ReservationReleased(_EnvironmentEvent):
    ce_type: ClassVar[str] = "flightdeck.environment.reservation_released.v1"

    environment: NonEmptyStr
    reservation_id: NonEmptyStr
    released_at: UtcDatetime
    reason: str | None = None


class EnvironmentExpired(_EnvironmentEvent):
    ce_type: ClassVar[str] = "flightdeck.environment.expired.v1"

    environment: NonEmptyStr
    expired_at: UtcDatetime
    reason: str | None = None


class DriftDetected(_EnvironmentEvent):
    ce_type: ClassVar[str] = "flightdeck.environment.drift_detected.v1"

    environment: NonEmptyStr
    keys: list[str]
    desired_hash: NonEmptyStr
    observed_hash: NonEmptyStr
    detected_at: UtcDatetime | None = None


class ConnectivityChecked(_EnvironmentEvent):
    ce_type: ClassVar[str] = "flightdeck.environment.connectivity_checked.v1"

    environment: NonEmptyStr
    checked_at: UtcDatetime
    flows: list[Flow]
    all_ok: bool
