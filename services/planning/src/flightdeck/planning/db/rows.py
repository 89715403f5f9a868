"""Rows to domain objects and back (the shape each table stores)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from flightdeck.events.catalogue.planning import BlackoutReason
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.domain.model import (
    Commit,
    Comparator,
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


def release_values(release: Release) -> dict[str, Any]:
    return {
        "id": release.id,
        "name": release.name,
        "version": release.version,
        "services": list(release.services),
        "team": release.team,
        "target_environment": release.target_environment,
        "planned_start": release.planned_start,
        "planned_end": release.planned_end,
        "owner": release.owner,
        "state": release.state.value,
        "resource_version": release.resource_version,
        "rollback_criteria": [
            {
                "metric": c.metric,
                "comparator": c.comparator.value,
                "threshold": c.threshold,
                "window_seconds": c.window_seconds,
            }
            for c in release.rollback_criteria
        ],
        "created_by": release.created_by,
        "created_at": release.created_at,
        "scoped_at": release.scoped_at,
        "cancelled_at": release.cancelled_at,
        "cancel_reason": release.cancel_reason,
    }


def to_release(row: Row[Any]) -> Release:
    return Release(
        id=row.id,
        name=row.name,
        version=row.version,
        services=tuple(row.services),
        team=row.team,
        target_environment=row.target_environment,
        planned_start=row.planned_start,
        planned_end=row.planned_end,
        owner=row.owner,
        created_by=row.created_by,
        created_at=row.created_at,
        state=ReleaseState(row.state),
        resource_version=row.resource_version,
        scoped_at=row.scoped_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        rollback_criteria=tuple(
            RollbackCriterion(
                c["metric"], Comparator(c["comparator"]), float(c["threshold"]), c["window_seconds"]
            )
            for c in row.rollback_criteria
        ),
    )


def item_values(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "release_id": item.release_id,
        "kind": item.kind.value,
        "title": item.title,
        "title_key": item.title.casefold(),
        "priority": item.priority,
        "regulatory": item.regulatory,
        "depends_on": list(item.depends_on),
        "commits": [
            {
                "repo": c.repo,
                "sha": c.sha,
                "authored_at": c.authored_at.isoformat(),
                "merged_at": c.merged_at.isoformat() if c.merged_at else None,
            }
            for c in item.commits
        ],
        "feature_toggle": item.feature_toggle,
        "position": item.position,
    }


def to_item(row: Row[Any]) -> Item:
    return Item(
        id=row.id,
        release_id=row.release_id,
        kind=ItemKind(row.kind),
        title=row.title,
        priority=row.priority,
        regulatory=row.regulatory,
        depends_on=tuple(row.depends_on),
        commits=tuple(
            Commit(
                c["repo"],
                c["sha"],
                datetime.fromisoformat(c["authored_at"]),
                datetime.fromisoformat(c["merged_at"]) if c["merged_at"] else None,
            )
            for c in row.commits
        ),
        feature_toggle=row.feature_toggle,
        position=row.position,
    )


def to_toggle(row: Row[Any]) -> Toggle:
    return Toggle(row.key, row.owner, row.default_on, row.remove_by, row.description)


def to_signoff(row: Row[Any]) -> Signoff:
    return Signoff(
        SignoffFunction(row.function),
        SignoffDecision(row.decision),
        row.signer,
        row.signed_at,
        row.note,
    )


def to_known_issue(row: Row[Any]) -> KnownIssue:
    return KnownIssue(
        row.id, row.title, row.workaround, row.impact, row.reported_by, row.reported_at
    )


def blackout_values(blackout: Blackout) -> dict[str, Any]:
    """The row of a blackout."""
    return {
        **vars(blackout),
        "reason": blackout.reason.value,
        "services": list(blackout.services),
        "teams": list(blackout.teams),
    }


def to_blackout(row: Row[Any]) -> Blackout:
    """A blackout from its row."""
    fields: dict[str, Any] = dict(zip(row._fields, row, strict=True))
    fields.update(
        reason=BlackoutReason(row.reason), services=tuple(row.services), teams=tuple(row.teams)
    )
    return Blackout(**fields)
