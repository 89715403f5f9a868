"""The ServiceNow representation and the release-to-change mapping."""

from __future__ import annotations

from datetime import timedelta

from flightdeck.events.catalogue.planning import ItemKind, ReleaseScoped, ScopeItem
from flightdeck.events.testing import example
from flightdeck.governance.domain.itsm import change_request
from flightdeck.governance.domain.model import Complexity, Impact, Urgency
from flightdeck.governance.domain.releases import release_draft
from tests.governance.unit.factories import opened


def _item(
    n: int,
    kind: ItemKind = ItemKind.FIX,
    *,
    regulatory: bool = False,
    depends_on: tuple[str, ...] = (),
    title: str = "Fix it",
) -> ScopeItem:
    return ScopeItem(
        item_id=f"i{n}",
        kind=kind,
        title=title,
        priority=2,
        regulatory=regulatory,
        depends_on=list(depends_on),
    )


def test_servicenow_shape() -> None:
    change = opened()
    change.number = 42
    record = change_request(change)
    assert record["number"] == "CHG0000042"
    assert (record["type"], record["state"], record["approval"]) == (
        "normal",
        "Authorize",
        "requested",
    )
    assert (record["risk"], record["impact"]) == ("Low", "3 - Low")
    assert record["start_date"] == "2026-03-02 10:00:00"
    assert record["cmdb_ci"] == ["checkout"]
    assert record["assignment_group"] == "payments"


def test_release_mapping() -> None:
    fixes = example(
        ReleaseScoped,
        items=[_item(1)],
        services=["a"],
        owner="olga",
        planned_start=None,
        planned_end=None,
    )
    draft = release_draft(fixes, "c1", "olga")
    assert (draft.impact, draft.complexity, draft.schema_changes) == (
        Impact.LOW,
        Complexity.LOW,
        False,
    )
    assert draft.urgency is Urgency.MEDIUM
    assert draft.planned_start == fixes.scoped_at
    assert draft.planned_end == fixes.scoped_at + timedelta(hours=1)
    assert draft.release_id == fixes.release_id
    assert draft.team == fixes.team

    chained = [_item(1), _item(2, depends_on=("i1",)), _item(3, depends_on=("i2",))]
    big = example(ReleaseScoped, items=chained, services=["a"])
    assert release_draft(big, "c2", "x").complexity is Complexity.HIGH
    some = example(
        ReleaseScoped,
        items=[_item(1, ItemKind.FEATURE), _item(2, depends_on=("i1",))],
        services=["a"],
    )
    assert release_draft(some, "c3", "x").impact is Impact.MEDIUM
    assert release_draft(some, "c3", "x").complexity is Complexity.MEDIUM
    regulated = example(
        ReleaseScoped,
        items=[_item(1, regulatory=True, title="Orders schema migration")],
        services=["a"],
    )
    draft = release_draft(regulated, "c4", "x")
    assert draft.impact is Impact.HIGH
    assert draft.schema_changes


def test_a_release_window_ending_before_it_starts_is_planned_for_an_hour() -> None:
    event = example(ReleaseScoped, services=["a"], planned_start=None, planned_end=None)
    backwards = event.model_copy(
        update={"planned_start": event.scoped_at, "planned_end": event.scoped_at - timedelta(1)}
    )
    draft = release_draft(backwards, "c5", "x")
    assert draft.planned_end == event.scoped_at + timedelta(hours=1)


def test_servicenow_shape_of_a_closed_change() -> None:
    from flightdeck.governance.domain.model import ChangeState, CloseCode, RiskLevel

    change = opened()
    change.number = 1234
    change.state, change.close_code = ChangeState.CLOSED, CloseCode.SUCCESSFUL_WITH_ISSUES
    change.approved_at = change.created_at
    change.risk_level = RiskLevel.CRITICAL
    record = change_request(change)
    assert record["number"] == "CHG0001234"
    assert record["state"] == "Closed"
    assert record["approval"] == "approved"
    assert record["close_code"] == "successful_issues"
    assert record["risk"] == "Very High"
