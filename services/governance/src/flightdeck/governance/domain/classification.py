"""Classification: standard, normal or emergency, and the pre-approved templates standard
changes must match."""

from __future__ import annotations

from dataclasses import dataclass

from flightdeck.events.catalogue.governance import Classification, RiskLevel
from flightdeck.governance.domain.model import Complexity, Impact, Urgency

_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class ChangeTemplate:
    """A pre-approved kind of change: which services and environment it may touch and how
    large it may be."""

    id: str
    name: str
    services: tuple[str, ...]
    environment: str | None
    max_impact: Impact
    max_complexity: Complexity
    allows_schema_changes: bool


@dataclass(frozen=True, slots=True)
class ChangeShape:
    """The parts of a change a template is matched against."""

    services: tuple[str, ...]
    environment: str
    impact: Impact
    complexity: Complexity
    schema_changes: bool


def template_mismatches(template: ChangeTemplate, change: ChangeShape) -> list[str]:
    """Why `change` does not fit `template` (empty when it does)."""
    reasons = []
    outside = sorted(set(change.services) - set(template.services))
    if outside:
        reasons.append(f"services {', '.join(outside)} are not covered by the template")
    if template.environment is not None and template.environment != change.environment:
        reasons.append(f"the template is for environment {template.environment}")
    if _ORDER[change.impact] > _ORDER[template.max_impact]:
        reasons.append(f"impact {change.impact} exceeds the template's {template.max_impact}")
    if _ORDER[change.complexity] > _ORDER[template.max_complexity]:
        reasons.append(
            f"complexity {change.complexity} exceeds the template's {template.max_complexity}"
        )
    if change.schema_changes and not template.allows_schema_changes:
        reasons.append("the template allows no schema changes")
    return reasons


def classify(urgency: Urgency, template_matches: bool, risk: RiskLevel) -> Classification:
    """Emergency when urgency is critical; standard when a template matches and risk is low;
    normal otherwise."""
    if urgency is Urgency.CRITICAL:
        return Classification.EMERGENCY
    if template_matches and risk is RiskLevel.LOW:
        return Classification.STANDARD
    return Classification.NORMAL
