"""Risk scoring and classification: tables of cases."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flightdeck.governance.domain.classification import (
    ChangeShape,
    ChangeTemplate,
    classify,
    template_mismatches,
)
from flightdeck.governance.domain.model import (
    Classification,
    Complexity,
    Impact,
    RiskLevel,
    Urgency,
)
from flightdeck.governance.domain.policy import DEFAULT_POLICY, Policy, RiskThresholds, RiskWeights
from flightdeck.governance.domain.risk import FailureHistory, assess_risk
from tests.governance.unit.factories import inputs

RISK_CASES = [
    # (inputs, expected score, expected level)
    (inputs(), 0.0, RiskLevel.LOW),
    (inputs(impact=Impact.MEDIUM), 10.0, RiskLevel.LOW),
    (inputs(impact=Impact.HIGH, complexity=Complexity.MEDIUM), 27.5, RiskLevel.MEDIUM),
    (inputs(service_count=3), 5.0, RiskLevel.LOW),
    (inputs(service_count=12), 10.0, RiskLevel.LOW),
    (
        inputs(schema_changes=True, impact=Impact.HIGH, complexity=Complexity.HIGH),
        50.0,
        RiskLevel.HIGH,
    ),
    (inputs(history=FailureHistory(deployments=10, failures=5)), 10.0, RiskLevel.LOW),
    (
        inputs(inside_blackout=True, outside_business_hours=True, impact=Impact.MEDIUM),
        30.0,
        RiskLevel.MEDIUM,
    ),
    (
        inputs(
            impact=Impact.HIGH,
            complexity=Complexity.HIGH,
            service_count=5,
            schema_changes=True,
            history=FailureHistory(deployments=4, failures=4),
            inside_blackout=True,
            outside_business_hours=True,
        ),
        100.0,
        RiskLevel.CRITICAL,
    ),
    (
        inputs(
            impact=Impact.HIGH,
            complexity=Complexity.HIGH,
            schema_changes=True,
            history=FailureHistory(deployments=4, failures=2),
            outside_business_hours=True,
            inside_blackout=True,
        ),
        80.0,
        RiskLevel.CRITICAL,
    ),
]


@pytest.mark.parametrize(("risk_inputs", "score", "level"), RISK_CASES)
def test_risk_score_and_level(risk_inputs: object, score: float, level: RiskLevel) -> None:
    assessment = assess_risk(risk_inputs, DEFAULT_POLICY)  # type: ignore[arg-type]
    assert assessment.score == score
    assert assessment.level is level
    assert sum(f.contribution for f in assessment.factors) == pytest.approx(score)
    for factor in assessment.factors:
        assert factor.contribution == pytest.approx(factor.weight * factor.value)


def test_every_factor_is_explained_with_its_weight() -> None:
    assessment = assess_risk(
        inputs(history=FailureHistory(deployments=8, failures=2)), DEFAULT_POLICY
    )
    by_name = {f.factor: f for f in assessment.factors}
    assert set(by_name) == {
        "impact",
        "complexity",
        "services",
        "schema_changes",
        "failure_history",
        "blackout",
        "off_hours",
    }
    assert by_name["failure_history"].value == 0.25
    assert by_name["failure_history"].contribution == 5.0
    assert "2 of 8" in by_name["failure_history"].detail


def test_policy_weights_and_thresholds_change_the_result() -> None:
    weights = RiskWeights(
        impact=60,
        complexity=10,
        services=5,
        schema_changes=5,
        failure_history=10,
        blackout=5,
        off_hours=5,
    )
    policy = Policy(weights=weights, thresholds=RiskThresholds(medium=10, high=20, critical=90))
    assessment = assess_risk(inputs(impact=Impact.MEDIUM), policy)
    assert assessment.score == 30.0
    assert assessment.level is RiskLevel.HIGH


@pytest.mark.parametrize(
    "document",
    [
        {"weights": {"impact": 50}},  # the weights add up to 130
        {"thresholds": {"medium": 60, "high": 50, "critical": 75}},
        {"quorums": {"low": {"cab": 0}}},
        {"quorums": {"low": {"janitor": 1}}},
        {"business_hours": {"timezone": "Mars/Olympus"}},
        {"business_hours": {"opens": "18:00", "closes": "09:00"}},
        {"colour": "blue"},
    ],
)
def test_invalid_policies_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate(document)


CLASSIFY_CASES = [
    (Urgency.CRITICAL, True, RiskLevel.LOW, Classification.EMERGENCY),
    (Urgency.CRITICAL, False, RiskLevel.HIGH, Classification.EMERGENCY),
    (Urgency.HIGH, True, RiskLevel.LOW, Classification.STANDARD),
    (Urgency.LOW, True, RiskLevel.MEDIUM, Classification.NORMAL),
    (Urgency.MEDIUM, False, RiskLevel.LOW, Classification.NORMAL),
]


@pytest.mark.parametrize(("urgency", "matches", "level", "expected"), CLASSIFY_CASES)
def test_classification(
    urgency: Urgency, matches: bool, level: RiskLevel, expected: Classification
) -> None:
    assert classify(urgency, matches, level) is expected


TEMPLATE = ChangeTemplate(
    id="t1",
    name="certificate rotation",
    services=("checkout", "payments"),
    environment="production",
    max_impact=Impact.MEDIUM,
    max_complexity=Complexity.LOW,
    allows_schema_changes=False,
)


@pytest.mark.parametrize(
    ("shape", "problems"),
    [
        (ChangeShape(("checkout",), "production", Impact.LOW, Complexity.LOW, False), []),
        (ChangeShape(("search",), "production", Impact.LOW, Complexity.LOW, False), ["search"]),
        (ChangeShape(("checkout",), "staging", Impact.LOW, Complexity.LOW, False), ["environment"]),
        (ChangeShape(("checkout",), "production", Impact.HIGH, Complexity.LOW, False), ["impact"]),
        (
            ChangeShape(("checkout",), "production", Impact.LOW, Complexity.MEDIUM, False),
            ["complexity"],
        ),
        (ChangeShape(("checkout",), "production", Impact.LOW, Complexity.LOW, True), ["schema"]),
    ],
)
def test_template_matching(shape: ChangeShape, problems: list[str]) -> None:
    reasons = template_mismatches(TEMPLATE, shape)
    assert len(reasons) == len(problems)
    for reason, word in zip(reasons, problems, strict=True):
        assert word in reason
