"""Changes and drafts for the domain tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdeck.governance.domain.lifecycle import ChangeDraft, open_change
from flightdeck.governance.domain.model import ChangeRequest, Complexity, Impact, Urgency
from flightdeck.governance.domain.policy import DEFAULT_POLICY
from flightdeck.governance.domain.risk import FailureHistory, RiskInputs, assess_risk

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def draft(**overrides: Any) -> ChangeDraft:
    """A low-risk draft in business hours, requested by rita."""
    base = ChangeDraft(
        id="chg-1",
        title="Rotate certificates",
        services=("checkout",),
        environment="production",
        urgency=Urgency.MEDIUM,
        impact=Impact.LOW,
        complexity=Complexity.LOW,
        schema_changes=False,
        planned_start=START,
        planned_end=START + timedelta(hours=1),
        requested_by="rita",
        team="payments",
    )
    return replace(base, **overrides)


def inputs(**overrides: Any) -> RiskInputs:
    """Risk inputs scoring zero unless overridden."""
    base = RiskInputs(
        impact=Impact.LOW,
        complexity=Complexity.LOW,
        service_count=1,
        schema_changes=False,
        history=FailureHistory(),
        inside_blackout=False,
        outside_business_hours=False,
    )
    return replace(base, **overrides)


def opened(template_matches: bool = False, **risk: Any) -> ChangeRequest:
    """A change opened under the default policy with the given risk inputs."""
    wanted = draft(**{k: v for k, v in risk.items() if k in ("urgency",)})
    assessment = assess_risk(
        inputs(**{k: v for k, v in risk.items() if k != "urgency"}), DEFAULT_POLICY
    )
    outcome = open_change(
        wanted,
        risk=assessment,
        template_matches=template_matches,
        policy=DEFAULT_POLICY,
        policy_version=1,
        now=NOW,
    )
    return outcome.change
