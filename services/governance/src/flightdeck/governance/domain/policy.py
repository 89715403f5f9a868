"""The change policy: risk weights and thresholds, approval quorums, business hours and the
windows used to judge outcomes. Stored as versioned data; never edited in place."""

from __future__ import annotations

from datetime import time
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flightdeck.events.catalogue.governance import RiskLevel

APPROVING_ROLES = frozenset({"cab", "senior_ops", "approver"})
"""Roles a quorum may ask for."""
MAX_APPROVERS = 20
"""The most approvers of one role a quorum may ask for (more could never gather)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RiskWeights(_Strict):
    """How many points (of 100) each risk factor is worth at its worst."""

    impact: float = Field(20, ge=0)
    complexity: float = Field(15, ge=0)
    services: float = Field(10, ge=0)
    schema_changes: float = Field(15, ge=0)
    failure_history: float = Field(20, ge=0)
    blackout: float = Field(10, ge=0)
    off_hours: float = Field(10, ge=0)

    @model_validator(mode="after")
    def _sum_to_100(self) -> Self:
        total = sum(self.model_dump().values())
        if abs(total - 100) > 1e-6:
            raise ValueError(f"risk weights must add up to 100, not {total:g}")
        return self


class RiskThresholds(_Strict):
    """The lowest score of each level above low."""

    medium: float = Field(25, gt=0, le=100)
    high: float = Field(50, gt=0, le=100)
    critical: float = Field(75, gt=0, le=100)

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        if not self.medium < self.high < self.critical:
            raise ValueError("thresholds must increase: medium < high < critical")
        return self

    def level(self, score: float) -> RiskLevel:
        """The level of a score."""
        if score >= self.critical:
            return RiskLevel.CRITICAL
        if score >= self.high:
            return RiskLevel.HIGH
        if score >= self.medium:
            return RiskLevel.MEDIUM
        return RiskLevel.LOW


Quorum = dict[str, int]
"""Role → number of distinct approvers needed in that role."""


def _check_quorum(quorum: Quorum) -> Quorum:
    unknown = set(quorum) - APPROVING_ROLES
    if unknown:
        raise ValueError(
            f"unknown approving roles {sorted(unknown)}; use {sorted(APPROVING_ROLES)}"
        )
    if not quorum or any(not 1 <= count <= MAX_APPROVERS for count in quorum.values()):
        raise ValueError(
            f"a quorum needs at least one role, each with a count from 1 to {MAX_APPROVERS}"
        )
    return quorum


class Quorums(_Strict):
    """Approvals a normal change needs per risk level, and an emergency change needs."""

    low: Quorum = {"cab": 1}
    medium: Quorum = {"cab": 2}
    high: Quorum = {"cab": 3}
    critical: Quorum = {"cab": 3, "senior_ops": 1}
    emergency: Quorum = {"senior_ops": 1}

    @field_validator("low", "medium", "high", "critical", "emergency")
    @classmethod
    def _valid(cls, quorum: Quorum) -> Quorum:
        return _check_quorum(quorum)

    def for_level(self, level: RiskLevel) -> Quorum:
        """The quorum of a normal change at `level`."""
        quorum: Quorum = getattr(self, level.value)
        return quorum


class BusinessHours(_Strict):
    """When people are at work to watch a change, in one IANA time zone."""

    timezone: str = "Europe/London"
    days: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1)
    """ISO weekdays counted from Monday = 0."""
    opens: time = time(9, 0)
    closes: time = time(17, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long
            raise ValueError(f"unknown IANA time zone {name!r}") from exc
        return name

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if any(not 0 <= day <= 6 for day in days):
            raise ValueError("days are weekdays 0 (Monday) to 6 (Sunday)")
        return sorted(set(days))

    @model_validator(mode="after")
    def _opens_before_closing(self) -> Self:
        if self.opens >= self.closes:
            raise ValueError("business hours must open before they close")
        return self


class Policy(_Strict):
    """One version of the change policy (the content; the version number is kept beside)."""

    weights: RiskWeights = RiskWeights()
    thresholds: RiskThresholds = RiskThresholds()
    quorums: Quorums = Quorums()
    business_hours: BusinessHours = BusinessHours()
    failure_window_days: int = Field(90, ge=1, le=3660)
    """How far back the failure history of a service and team reaches."""
    stabilization_minutes: int = Field(60, ge=0, le=10080)
    """After a deployment, how long a failed health check still makes the change unsuccessful."""
    review_due_days: int = Field(5, ge=1, le=60)
    """Days after approval by which an emergency change needs its post-implementation review."""
    escalate_from: RiskLevel = RiskLevel.HIGH
    """Risk level from which a change is escalated to senior_ops and needs oversight."""


DEFAULT_POLICY = Policy()
"""Version 1 of every governance database."""


def needs_oversight(policy: Policy, level: RiskLevel) -> bool:
    """Whether a change at `level` is escalated to senior_ops."""
    order = list(RiskLevel)
    return order.index(level) >= order.index(policy.escalate_from)
