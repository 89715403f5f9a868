"""Risk scoring: a pure function of the change, its history and its timing, explained factor
by factor. Each factor has a value between 0 and 1; its contribution is value x weight, and
the weights add up to 100, so the score is the sum of the contributions (0-100)."""

from __future__ import annotations

from dataclasses import dataclass

from flightdeck.events.catalogue.governance import RiskLevel
from flightdeck.governance.domain.model import Complexity, Impact
from flightdeck.governance.domain.policy import Policy

LEVEL_VALUE = {"low": 0.0, "medium": 0.5, "high": 1.0}
SERVICES_AT_WORST = 5
"""A change touching this many services (or more) scores the services factor in full."""


@dataclass(frozen=True, slots=True)
class FailureHistory:
    """Recent production deployments of the change's services and team, and how many failed."""

    deployments: int = 0
    failures: int = 0

    @property
    def rate(self) -> float:
        """The share that failed (0 without history)."""
        return self.failures / self.deployments if self.deployments else 0.0


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """What risk is judged from."""

    impact: Impact
    complexity: Complexity
    service_count: int
    schema_changes: bool
    history: FailureHistory
    inside_blackout: bool
    outside_business_hours: bool


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """One line of the explanation."""

    factor: str
    weight: float
    value: float
    contribution: float
    detail: str


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """The score, its level and the factors it is made of."""

    score: float
    level: RiskLevel
    factors: tuple[RiskFactor, ...]


def assess_risk(inputs: RiskInputs, policy: Policy) -> RiskAssessment:
    """Score a change under `policy`."""
    weights = policy.weights
    history = inputs.history
    services = max(inputs.service_count, 1)
    factors = (
        _factor("impact", weights.impact, LEVEL_VALUE[inputs.impact], f"impact {inputs.impact}"),
        _factor(
            "complexity",
            weights.complexity,
            LEVEL_VALUE[inputs.complexity],
            f"complexity {inputs.complexity}",
        ),
        _factor(
            "services",
            weights.services,
            min(1.0, (services - 1) / (SERVICES_AT_WORST - 1)),
            f"{services} service(s) touched",
        ),
        _flag(
            "schema_changes",
            weights.schema_changes,
            inputs.schema_changes,
            ("schema changes", "no schema changes"),
        ),
        _factor(
            "failure_history",
            weights.failure_history,
            history.rate,
            f"{history.failures} of {history.deployments} production deployments failed in "
            f"the last {policy.failure_window_days} days",
        ),
        _flag(
            "blackout",
            weights.blackout,
            inputs.inside_blackout,
            ("inside a blackout", "no blackout"),
        ),
        _flag(
            "off_hours",
            weights.off_hours,
            inputs.outside_business_hours,
            ("outside business hours", "in business hours"),
        ),
    )
    score = round(min(100.0, sum(f.contribution for f in factors)), 2)
    return RiskAssessment(score, policy.thresholds.level(score), factors)


def _factor(name: str, weight: float, value: float, detail: str) -> RiskFactor:
    value = min(1.0, max(0.0, value))
    return RiskFactor(name, weight, round(value, 4), round(weight * value, 4), detail)


def _flag(name: str, weight: float, present: bool, details: tuple[str, str]) -> RiskFactor:
    """A factor that counts in full when present, not at all otherwise; `details` say which."""
    return _factor(name, weight, 1.0 if present else 0.0, details[0] if present else details[1])
