"""What each logged event contributes to the projections, and the value-stream rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.catalogue.planning import ReleasePlanned
from flightdeck.events.catalogue.validation import HealthCheckFailed
from flightdeck.events.envelope import Event
from flightdeck.events.testing import example
from flightdeck.metrics.domain.facts import Claim, LoggedEvent, first_deployments, gather
from flightdeck.metrics.domain.instants import to_us
from flightdeck.metrics.domain.value_stream import Timeline, matching_window, summarise

AT = datetime(2026, 1, 5, 10, tzinfo=UTC)


def logged(data: Event, event_id: str = "e-1", time: datetime = AT) -> LoggedEvent:
    return LoggedEvent(event_id, data.ce_type, time, data.model_dump(mode="json"))


def deployment(**overrides: Any) -> DeploymentFinished:
    values: dict[str, Any] = {
        "team": None,
        "environment": "prod",
        "environment_tier": "production",
        "finished_at": AT,
        "commits": [{"repo": "r", "sha": "a", "authored_at": AT - timedelta(hours=1)}],
    }
    return example(DeploymentFinished, **{**values, **overrides})


def test_a_deployment_gives_its_row_commits_and_tier_claim() -> None:
    facts = gather([logged(deployment(deployment_id="D1", service="checkout"))])
    (row,) = facts.latest_deployments()
    assert row["deployment_id"] == "D1"
    assert row["finished_us"] == to_us(AT)
    assert row["team"] == ""  # no declared team: the service's team is looked up later
    assert [c["sha"] for c in row["commits"]] == ["a"]
    assert facts.team_claims == []
    assert [(c.key, c.value) for c in facts.tier_claims] == [("prod", "production")]


def test_a_commit_leads_from_its_earliest_counted_deployment() -> None:
    # D3 (a rollback) and D4 (failed) finish first but deploy nothing; D1 and D2 finish at the
    # same time: the smaller id, D1, is the commit's first deployment, one hour after authoring.
    commits = [{"repo": "r", "sha": "a", "authored_at": AT - timedelta(hours=2)}]
    events = [
        deployment(deployment_id="D2", finished_at=AT, is_rollback=False, commits=commits),
        deployment(deployment_id="D1", finished_at=AT, is_rollback=False, commits=commits),
        deployment(deployment_id="D3", finished_at=AT - timedelta(hours=1), is_rollback=True,
                   commits=commits),
        deployment(deployment_id="D4", finished_at=AT - timedelta(hours=1), outcome="failed",
                   is_rollback=False, commits=commits),
    ]  # fmt: skip
    facts = gather([logged(e, f"e-{n}") for n, e in enumerate(events)])
    (lead,) = first_deployments(facts.latest_deployments())
    assert (lead["repo"], lead["sha"], lead["environment_tier"]) == ("r", "a", "production")
    assert lead["deployment_id"] == "D1"
    assert lead["lead_authored_us"] == 2 * 3600 * 1_000_000
    assert lead["lead_merged_us"] is None


def test_the_latest_event_describes_a_deployment() -> None:
    older = logged(deployment(deployment_id="D1", version="1"), "e-1", AT)
    newer = logged(deployment(deployment_id="D1", version="2"), "e-2", AT + timedelta(minutes=1))
    for order in ([older, newer], [newer, older]):
        (row,) = gather(order).latest_deployments()
        assert row["version"] == "2"


def test_latest_claims_win_whatever_the_order() -> None:
    early = Claim("checkout", "payments", 1, "b")
    late = Claim("checkout", "platform", 2, "a")
    tie = Claim("checkout", "search", 2, "c")
    facts = gather([])
    assert facts.winning_claims([early, late])["checkout"].value == "platform"
    assert facts.winning_claims([tie, late, early])["checkout"].value == "search"


def test_release_plans_claim_each_service_for_the_team() -> None:
    plan = example(ReleasePlanned, services=["checkout", "ledger"], team="payments")
    facts = gather([logged(plan)])
    assert {(c.key, c.value) for c in facts.team_claims} == {
        ("checkout", "payments"),
        ("ledger", "payments"),
    }
    assert facts.milestones[0]["milestone"] == "planned"


def test_a_health_check_naming_its_deployment_is_attributed_by_name() -> None:
    named = example(HealthCheckFailed, deployment_id="D1", detected_at=AT)
    unnamed = example(HealthCheckFailed, deployment_id=None, detected_at=AT)
    facts = gather([logged(named, "hc-1"), logged(unnamed, "hc-2")])
    assert [(f["failure_id"], f["rule"]) for f in facts.failures] == [
        ("hc-1", "named"),
        ("hc-2", None),  # the 24 h rule is applied by the projection, over stored facts
    ]


def test_unknown_to_projections_types_contribute_nothing() -> None:
    facts = gather([LoggedEvent("x", "com.example.other.v1", AT, {"anything": 1})])
    assert facts.latest_deployments() == []
    assert facts.failures == []


def test_the_window_is_the_first_opened_after_approval_before_the_start() -> None:
    opens = [10, 50, 70, 200]
    assert matching_window(opens, after_us=40, started_us=100) == 50
    assert matching_window(opens, after_us=80, started_us=100) == 70  # none after: latest before
    assert matching_window(opens, after_us=5, started_us=None) is None
    assert matching_window([300], after_us=5, started_us=100) is None


def test_the_bottleneck_is_the_stage_with_the_largest_median() -> None:
    second = 10**6
    fast = Timeline(
        "r1", "t", {"planned": 0, "scoped": 10 * second, "change_approved": 11 * second}
    )
    slow = Timeline("r2", "t", {"planned": 0, "scoped": 2 * second, "change_approved": 30 * second})
    stages, bottleneck = summarise([fast, slow])
    medians = {s.stage: s.median_seconds for s in stages}
    assert medians["planned_to_scoped"] == 6.0
    assert medians["scoped_to_change_approved"] == 14.5
    assert medians["deployment_finished_to_verified"] is None
    assert bottleneck == "scoped_to_change_approved"


def test_a_milestone_reached_early_makes_its_stage_zero_never_negative() -> None:
    hour = 3600 * 10**6
    # The window was already open (hour 1) when the change was approved (hour 3); the
    # verification (hour 5) came from an earlier deployment than the last finish (hour 6).
    reached: dict[str, int | None] = {
        "planned": 0,
        "scoped": 2 * hour,
        "change_approved": 3 * hour,
        "window_opened": 1 * hour,
        "deployment_started": 4 * hour,
        "deployment_finished": 6 * hour,
        "verified": 5 * hour,
    }
    spent = Timeline("r", "t", reached).durations()
    assert spent == {
        "planned_to_scoped": 7200.0,
        "scoped_to_change_approved": 3600.0,
        "change_approved_to_window_opened": 0.0,
        "window_opened_to_deployment_started": 3600.0,  # from the approval
        "deployment_started_to_deployment_finished": 7200.0,
        "deployment_finished_to_verified": 0.0,
    }
    assert sum(v for v in spent.values() if v is not None) == 6 * 3600.0


def test_touched_times_less_than_a_day_apart_share_a_span() -> None:
    from flightdeck.metrics.db.refresh import _spans
    from flightdeck.metrics.domain.instants import DAY_US

    hour = DAY_US // 24
    times = [5 * DAY_US, 3 * hour, 0, 3 * hour, DAY_US + 2 * hour, 5 * DAY_US + hour]
    # 0, 3h and 1d2h chain (each under a day after the previous); 5d stands apart from 1d2h.
    assert _spans(times) == [(0, DAY_US + 2 * hour), (5 * DAY_US, 5 * DAY_US + hour)]
    assert _spans([DAY_US, 0]) == [(0, 0), (DAY_US, DAY_US)]  # a full day apart: two spans
    assert _spans([]) == []
