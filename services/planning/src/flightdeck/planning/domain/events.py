"""The integration events a release's changes publish (the published language of
`flightdeck.events.catalogue.planning`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from flightdeck.events.catalogue import common, planning
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.domain.model import Item, Release, Signoff

P = TypeVar("P", bound=common.Part)


def release_planned(release: Release) -> planning.ReleasePlanned:
    """A release entered the plan."""
    return planning.ReleasePlanned(
        release_id=release.id,
        name=release.name,
        version=release.version,
        services=list(release.services),
        team=release.team,
        target_environment=release.target_environment,
        planned_start=release.planned_start,
        planned_end=release.planned_end,
        owner=release.owner,
    )


def release_scoped(release: Release, scoped_at: datetime) -> planning.ReleaseScoped:
    """The scope was frozen: everything governance and the executor need."""
    return planning.ReleaseScoped(
        release_id=release.id,
        version=release.version,
        services=list(release.services),
        team=release.team,
        target_environment=release.target_environment,
        items=[_item(item) for item in release.items],
        rollback_criteria=[_part(planning.RollbackCriterion, c) for c in release.rollback_criteria],
        feature_toggles=[_part(planning.FeatureToggle, t) for t in release.toggles],
        signoffs=[_part(planning.Signoff, s) for s in release.signoffs],
        scoped_at=scoped_at,
        name=release.name,
        owner=release.owner,
        planned_start=release.planned_start,
        planned_end=release.planned_end,
    )


def _item(item: Item) -> planning.ScopeItem:
    return planning.ScopeItem(
        item_id=item.id,
        kind=item.kind,
        title=item.title,
        priority=item.priority,
        regulatory=item.regulatory,
        depends_on=list(item.depends_on),
        commits=[_part(common.Commit, commit) for commit in item.commits],
        feature_toggle=item.feature_toggle,
    )


def _part(model: type[P], value: object) -> P:
    """A catalogue value object from the domain one with the same field names."""
    return model.model_validate(value, from_attributes=True)


def scope_reduced(
    release: Release, removed: Sequence[str], reason: str, by: str, at: datetime
) -> planning.ScopeReduced:
    """Items left a scoped release."""
    return planning.ScopeReduced(
        release_id=release.id,
        removed_item_ids=list(removed),
        reason=reason,
        reduced_at=at,
        reduced_by=by,
    )


def readiness_signed(release: Release, signoff: Signoff) -> planning.ReleaseReadinessSigned:
    """A function signed the release's readiness (approve or reject)."""
    return planning.ReleaseReadinessSigned(
        release_id=release.id,
        function=signoff.function,
        decision=signoff.decision,
        signer=signoff.signer,
        signed_at=signoff.at,
        note=signoff.note,
    )


def release_cancelled(release: Release, by: str) -> planning.ReleaseCancelled:
    """The release was called off."""
    assert release.cancelled_at is not None
    return planning.ReleaseCancelled(
        release_id=release.id,
        reason=release.cancel_reason or "",
        cancelled_at=release.cancelled_at,
        cancelled_by=by,
    )


def blackout_declared(blackout: Blackout) -> planning.BlackoutDeclared:
    """A blackout entered the business calendar."""
    return planning.BlackoutDeclared(
        blackout_id=blackout.id,
        name=blackout.name,
        reason=blackout.reason,
        starts_at=blackout.starts_at,
        ends_at=blackout.ends_at,
        timezone=blackout.timezone,
        rrule=blackout.rrule,
        services=list(blackout.services),
        teams=list(blackout.teams),
        declared_by=blackout.declared_by,
    )


def blackout_withdrawn(blackout_id: str, by: str, at: datetime) -> planning.BlackoutWithdrawn:
    """A blackout left the business calendar."""
    return planning.BlackoutWithdrawn(blackout_id=blackout_id, withdrawn_at=at, withdrawn_by=by)
