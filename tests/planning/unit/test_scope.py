"""Scope rules: admitting items, cycles, removal, freezing, lifecycle, descoping, documents."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.testing import EXAMPLE_TIME, example
from flightdeck.planning.domain import descoping, documents, events, lifecycle, scope
from flightdeck.planning.domain.dependencies import dependants_of, every_dependants, find_cycle
from flightdeck.planning.domain.errors import InvalidInput, StateConflict
from flightdeck.planning.domain.model import (
    Commit,
    Comparator,
    Deployment,
    Item,
    ItemKind,
    KnownIssue,
    Release,
    ReleaseState,
    RollbackCriterion,
    Signoff,
    SignoffDecision,
    SignoffFunction,
    Toggle,
)
from flightdeck.planning.domain.scope import ForeignItem, ItemDraft

NOW = datetime(2026, 4, 1, 9, tzinfo=UTC)
COMMIT = Commit("shop/checkout", "abc123", NOW)


def release(**changes: object) -> Release:
    base = Release(
        id="r1",
        name="Spring",
        version="2.4.0",
        services=("checkout", "payments"),
        team="payments",
        target_environment="production",
        planned_start=datetime(2026, 4, 14, 6, tzinfo=UTC),
        planned_end=datetime(2026, 4, 14, 10, tzinfo=UTC),
        owner="olga",
        created_by="rita",
        created_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def item(ident: str, *needs: str, priority: int = 3, **changes: object) -> Item:
    base = Item(ident, "r1", ItemKind.FEATURE, f"Item {ident}", priority, False, needs)
    return replace(base, **changes)  # type: ignore[arg-type]


def signoff(function: SignoffFunction, decision: SignoffDecision, minute: int) -> Signoff:
    return Signoff(function, decision, f"{function.value}-lead", NOW.replace(minute=minute))


def ready(**changes: object) -> Release:
    approvals = tuple(
        signoff(f, SignoffDecision.APPROVE, n) for n, f in enumerate(scope.ALWAYS_REQUIRED)
    )
    criteria = (RollbackCriterion("error_rate", Comparator.GT, 0.02, 300),)
    return release(signoffs=approvals, rollback_criteria=criteria, **changes)


def test_cycles_are_found_without_recursion() -> None:
    assert find_cycle({"a": ("b",), "b": ("c",), "c": ()}) is None
    assert find_cycle({"a": ("b",), "b": ("c",), "c": ("a",), "d": ("a",)}) == ["a", "b", "c"]
    chain = {str(n): (str(n + 1),) for n in range(5000)} | {"5000": ("0",)}
    assert find_cycle(chain) is not None
    assert find_cycle({"a": ("elsewhere",)}) is None
    assert dependants_of({"a": (), "b": ("a",), "c": ("b",), "d": ()}, ["a"]) == {"b", "c"}


def test_every_items_dependants_at_once_match_one_walk_each() -> None:
    rng = random.Random(7)
    graph = {f"n{i}": tuple(f"n{j}" for j in rng.sample(range(i), min(i, 4))) for i in range(60)}
    graph["n5"] = ("n1", "n1", "outside")  # a repeat and an edge leaving the graph
    expected = {node: dependants_of(graph, [node]) for node in graph}
    assert every_dependants(graph) == expected
    cyclic = {"a": ("b",), "b": ("a",), "c": ("a",)}
    assert every_dependants(cyclic) == {"a": {"b", "c"}, "b": {"a", "c"}, "c": set()}


def test_admitting_items_checks_titles_dependencies_and_ids() -> None:
    current = release(items=(item("A"),))
    foreign = {
        "X": ForeignItem("X", "r2", ReleaseState.SCOPED),
        "Y": ForeignItem("Y", "r3", ReleaseState.RELEASED),
    }
    draft = ItemDraft(ItemKind.FIX, "item a", 2, False, ("X", "Y", "Z", "A", "Y"))
    with pytest.raises(InvalidInput) as refused:
        scope.admit_items(current, [draft], ["B"], foreign)
    assert [e.location for e in refused.value.errors] == [
        "body.title",
        "body.depends_on.0",
        "body.depends_on.2",
        "body.depends_on.4",  # Y again
    ]
    reused = ItemDraft(ItemKind.FIX, "Reused id", 2, False)
    with pytest.raises(InvalidInput) as refused:
        scope.admit_items(current, [reused], ["Y"], foreign)
    assert refused.value.errors[0].message == "item id Y is already used"
    fine = ItemDraft(ItemKind.FIX, "New", 2, False, ("Y", "A"))
    [added] = scope.admit_items(current, [fine], ["B"], foreign)
    assert (added.id, added.position, added.depends_on) == ("B", 1, ("Y", "A"))
    after_a_removal = release(items=(item("A", position=4),))
    [appended] = scope.admit_items(after_a_removal, [fine], ["B"], foreign)
    assert appended.position == 5  # after the last one, whatever was removed before


def test_a_batch_forming_a_cycle_is_refused() -> None:
    drafts = [
        ItemDraft(ItemKind.FEATURE, "A", 1, False, ("B",)),
        ItemDraft(ItemKind.FEATURE, "B", 1, False, ("A",)),
    ]
    with pytest.raises(InvalidInput) as refused:
        scope.admit_items(release(), drafts, ["A", "B"], {}, location="body.items")
    assert refused.value.errors[0].type == "cycle"


def test_freezing_rules_report_every_violation() -> None:
    regulatory = item("A", "GONE", regulatory=True, feature_toggle="t1")
    rejected = signoff(SignoffFunction.QA, SignoffDecision.REJECT, 30)
    candidate = release(items=(regulatory,), signoffs=(rejected,))
    found = scope.violations(candidate, {}, [], None)
    assert [(v.rule, v.data.get("function")) for v in found] == [
        ("rollback_criteria", None),
        ("signoff", "dev"),
        ("signoff", "qa"),
        ("signoff", "ops"),
        ("signoff", "security"),
        ("feature_toggle", None),
        ("dependency", None),
    ]


def test_a_later_approval_by_the_same_function_lifts_a_rejection() -> None:
    later = signoff(SignoffFunction.QA, SignoffDecision.APPROVE, 59)
    earlier = signoff(SignoffFunction.QA, SignoffDecision.REJECT, 40)
    candidate = ready()
    assert scope.violations(candidate, {}, [], None) == []
    rejected = replace(candidate, signoffs=(*candidate.signoffs, earlier))
    assert [v.rule for v in scope.violations(rejected, {}, [], None)] == ["signoff"]
    approved = replace(rejected, signoffs=(*rejected.signoffs, later))
    assert scope.violations(approved, {}, [], None) == []
    # Security is not required without regulatory items, but its rejection still blocks.
    vetoed = replace(
        approved,
        signoffs=(
            *approved.signoffs,
            signoff(SignoffFunction.SECURITY, SignoffDecision.REJECT, 50),
        ),
    )
    [veto] = scope.violations(vetoed, {}, [], None)
    assert (veto.rule, veto.data) == ("signoff", {"function": "security"})
    cleared = replace(
        vetoed,
        signoffs=(*vetoed.signoffs, signoff(SignoffFunction.SECURITY, SignoffDecision.APPROVE, 55)),
    )
    assert scope.violations(cleared, {}, [], None) == []


def test_a_decision_signed_on_a_clock_behind_the_last_one_still_counts_as_latest() -> None:
    rejected = lifecycle.with_signoff(
        ready(), signoff(SignoffFunction.QA, SignoffDecision.REJECT, 30)
    )
    behind = signoff(SignoffFunction.QA, SignoffDecision.APPROVE, 20)  # a replica's slow clock
    approved = lifecycle.with_signoff(rejected, behind)
    assert approved.signoffs[-1].at == NOW.replace(minute=30, microsecond=1)
    assert approved.latest_signoffs()[SignoffFunction.QA].decision is SignoffDecision.APPROVE
    assert scope.violations(approved, {}, [], None) == []


def test_a_scope_too_large_to_publish_is_a_violation() -> None:
    commits = tuple(Commit("shop/checkout", f"{n:040x}", NOW) for n in range(500))
    small = ready(items=(item("A", commits=commits),))
    assert events.size_violations(events.release_scoped(small, NOW)) == []
    large = ready(items=tuple(item(f"I{n}", commits=commits) for n in range(90)))
    [violation] = events.size_violations(events.release_scoped(large, NOW))
    assert violation.rule == "event_size"
    assert violation.data["bytes"] > violation.data["limit"] == 5 * 1024 * 1024


def test_released_dependencies_of_other_releases_are_satisfied() -> None:
    candidate = ready(items=(item("A", "X"),))
    done = {"X": ForeignItem("X", "r0", ReleaseState.RELEASED)}
    assert scope.violations(candidate, done, [], None) == []


def test_removal_needs_dependants_or_cascade_and_a_reason_once_scoped() -> None:
    current = release(items=(item("A"), item("B", "A"), item("C", "B")))
    with pytest.raises(StateConflict) as refused:
        scope.removal(current, "A", cascade=False, reason=None)
    assert refused.value.extensions["dependants"] == ["B", "C"]
    assert scope.removal(current, "A", cascade=True, reason=None) == ["A", "B", "C"]
    frozen = replace(current, state=ReleaseState.SCOPED)
    with pytest.raises(InvalidInput):
        scope.removal(frozen, "C", cascade=False, reason=" ")
    assert scope.removal(frozen, "C", cascade=False, reason="risk") == ["C"]
    with pytest.raises(StateConflict):
        scope.removal(replace(current, state=ReleaseState.RELEASED), "C", cascade=False, reason="x")


def test_deployments_move_a_scoped_release_to_released() -> None:
    scoped = release(state=ReleaseState.SCOPED)
    first = lifecycle.after_deployment(scoped, Deployment("checkout", "d1", NOW))
    assert first.state is ReleaseState.IN_PROGRESS
    assert first.resource_version == scoped.resource_version + 1
    second = lifecycle.after_deployment(first, Deployment("payments", "d2", NOW))
    assert second.state is ReleaseState.RELEASED
    draft = lifecycle.after_deployment(release(), Deployment("checkout", "d1", NOW))
    assert draft.state is ReleaseState.DRAFT


def test_descoping_ranks_deterministically_with_reasons() -> None:
    items = (
        item("REG", priority=5, regulatory=True),
        item("BASE", priority=5),
        item("TOP", "BASE", priority=4),
        item("RISKY", priority=4, commits=(COMMIT, COMMIT)),
        item("VITAL", priority=1),
    )
    ranked = descoping.proposal(release(items=items))
    assert [c.item.id for c in ranked] == ["BASE", "RISKY", "TOP", "VITAL", "REG"]
    assert ranked[0].reason.startswith("priority 5 of 5")
    assert "TOP" in ranked[0].reason
    assert "2 commits" in ranked[1].reason
    assert "regulatory" in ranked[-1].reason
    assert descoping.proposal(release(items=tuple(reversed(items)))) == ranked
    many = (item("ROOT"), *(item(f"D{n}", "ROOT") for n in range(7)))
    [root] = [c for c in descoping.proposal(release(items=many)) if c.item.id == "ROOT"]
    assert len(root.dependants) == 7
    assert "7 item(s) depend on it and go with it (D0, D1, D2, D3, D4 and 2 more)" in root.reason


def test_notes_and_runbook_come_from_the_current_state() -> None:
    toggle = Toggle("one-page", "olga", False, date(2026, 6, 30), "New checkout")
    candidate = ready(
        items=(item("A", feature_toggle="one-page"), item("B", kind=ItemKind.FIX)),
        toggles=(toggle,),
    )
    notes = documents.notes(candidate)
    assert [f["title"] for f in notes["features"]] == ["Item A"]
    assert [f["title"] for f in notes["fixes"]] == ["Item B"]
    markdown = documents.notes_markdown(candidate)
    assert "## Features\n\n- Item A (behind toggle `one-page`)" in markdown
    issue = KnownIssue("k1", "Slow receipts", "Reload.\n\n# Then wait", "Few.", "rita", NOW)
    listed = documents.notes_markdown(replace(candidate, known_issues=(issue,)))
    assert "- **Slow receipts**: Few. Workaround: Reload. # Then wait\n" in listed
    book = documents.runbook(candidate)
    assert [s["service"] for s in book["steps"]] == ["checkout"] * 3 + ["payments"] * 3
    assert book["steps"][2]["action"] == (
        "Watch error_rate of checkout for 300 s (the longest rollback window)"
    )
    assert book["rollback"]["triggers"][0]["condition"] == (
        "roll back when error_rate is above 0.02 over 300 s"
    )
    assert book["rollback"]["procedure"][0].startswith("Roll back payments")
    assert {c["name"] for c in book["contacts"]} == {"olga", "dev-lead", "qa-lead", "ops-lead"}


def test_only_succeeded_production_deployments_of_a_release_count() -> None:
    def event(**fields: object) -> DeploymentFinished:
        values = {
            "release_id": "r1",
            "environment_tier": "production",
            "outcome": "succeeded",
            "is_rollback": False,
        }
        return example(DeploymentFinished, **{**values, **fields})

    assert lifecycle.reported_deployment(event(service="checkout")) == (
        "r1",
        Deployment("checkout", "deployment_id-1", EXAMPLE_TIME),
    )
    for other in (
        {"release_id": None},
        {"environment_tier": "staging"},
        {"outcome": "failed"},
        {"is_rollback": True},
    ):
        assert lifecycle.reported_deployment(event(**other)) is None, other
