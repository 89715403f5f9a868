"""The integration events a release's changes publish (the published language of
`flightdeck.events.catalogue.planning`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flightdeck.events.catalogue import planning
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.domain.errors import Violation
from flightdeck.planning.domain.model import Release, Signoff


def release_planned(release: Release) -> planning.ReleasePlanned:
    """A release entered the plan."""
    return planning.ReleasePlanned.model_validate(_fields(release, release_id=release.id))


def release_scoped(release: Release, scoped_at: datetime) -> planning.ReleaseScoped:
    """The scope was frozen: everything governance and the executor need, the optional
    name, owner and planned window included. Nested values (criteria, toggles, sign-offs,
    commits) are the domain's, read by attribute: their fields carry the catalogue's names."""
    fields = _fields(
        release,
        release_id=release.id,
        items=[_fields(item, item_id=item.id) for item in release.items],
        feature_toggles=release.toggles,
        scoped_at=scoped_at,
    )
    return planning.ReleaseScoped.model_validate(fields, from_attributes=True)


LARGEST_EVENT_BYTES = 5 * 1024 * 1024
"""Events stay under 5 MiB (`flightdeck.events.kafka`: the broker takes up to 8 MiB and sets
a larger record aside, unpublished)."""


def size_violations(event: planning.ReleaseScoped) -> list[Violation]:
    """The scope as ReleaseScoped would be too large to publish: items and commits pile up
    across requests, each within the body limit."""
    size = len(event.model_dump_json().encode())
    if size <= LARGEST_EVENT_BYTES:
        return []
    detail = (
        f"the scope is {size:,} bytes as ReleaseScoped, over the {LARGEST_EVENT_BYTES:,} an "
        "event may carry: remove items or commits"
    )
    return [Violation("event_size", detail, {"bytes": size, "limit": LARGEST_EVENT_BYTES})]


def _fields(value: object, **renamed: object) -> dict[str, object]:
    """A domain value's fields, with those the catalogue names differently added (the
    catalogue models ignore fields they do not know)."""
    return {**vars(value), **renamed}


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
    return planning.BlackoutDeclared.model_validate(_fields(blackout, blackout_id=blackout.id))


def blackout_withdrawn(blackout_id: str, by: str, at: datetime) -> planning.BlackoutWithdrawn:
    """A blackout left the business calendar."""
    return planning.BlackoutWithdrawn(blackout_id=blackout_id, withdrawn_at=at, withdrawn_by=by)
