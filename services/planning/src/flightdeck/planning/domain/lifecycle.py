"""The release's lifecycle outside its scope: planning it, the parts it carries (rollback
criteria, toggles, sign-offs, known issues), cancelling it, and the deployments that move it
to `released`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from flightdeck.events.catalogue.common import EnvironmentTier
from flightdeck.events.catalogue.executor import DeploymentFinished, DeploymentOutcome
from flightdeck.planning.domain.calendar import LONGEST_PERIOD
from flightdeck.planning.domain.errors import InputError, InvalidInput, StateConflict
from flightdeck.planning.domain.model import (
    Deployment,
    KnownIssue,
    Release,
    ReleasePlan,
    ReleaseState,
    RollbackCriterion,
    Signoff,
    Toggle,
)
from flightdeck.planning.domain.scope import ensure_draft


def plan_release(draft: ReleasePlan, ident: str, by: str, now: datetime) -> Release:
    """A new draft release; InvalidInput for a window that ends before it starts or spans
    more than `LONGEST_PERIOD`, or a repeated service."""
    errors = []
    if draft.planned_end <= draft.planned_start:
        errors.append(InputError("body.planned_end", "planned_end must be after planned_start"))
    elif draft.planned_end - draft.planned_start > LONGEST_PERIOD:
        errors.append(InputError("body.planned_end", "the planned window spans 366 days at most"))
    repeated = sorted({s for s in draft.services if draft.services.count(s) > 1})
    if repeated:
        errors.append(InputError("body.services", f"services repeated: {', '.join(repeated)}"))
    if errors:
        raise InvalidInput(errors)
    return Release(**vars(draft), id=ident, created_by=by, created_at=now)


def with_criteria(release: Release, criteria: Sequence[RollbackCriterion]) -> Release:
    """The release with its rollback criteria replaced; a metric and comparator pair may
    appear once."""
    ensure_draft(release, "change the rollback criteria")
    seen: set[tuple[str, str]] = set()
    errors = []
    for n, criterion in enumerate(criteria):
        pair = (criterion.metric, criterion.comparator.value)
        if pair in seen:
            errors.append(InputError(f"body.{n}", f"{criterion.metric} {pair[1]} is given twice"))
        seen.add(pair)
    if errors:
        raise InvalidInput(errors)
    return release.bumped(rollback_criteria=tuple(criteria))


def with_toggle(release: Release, toggle: Toggle) -> Release:
    """The release with one more documented toggle (keys are unique per release)."""
    ensure_draft(release, "document toggles")
    if release.toggle(toggle.key) is not None:
        raise InvalidInput([InputError("body.key", f"toggle {toggle.key!r} is documented already")])
    return release.bumped(toggles=(*release.toggles, toggle))


def with_signoff(release: Release, signoff: Signoff) -> Release:
    """The release with one more readiness decision, which is its latest: a clock behind
    the previous decision's (another replica's, or the same microsecond) is moved just past
    it, so "a later approval lifts a rejection" follows the order decisions were made in."""
    ensure_draft(release, "sign off")
    previous = max((s.at for s in release.signoffs), default=None)
    if previous is not None and signoff.at <= previous:
        signoff = replace(signoff, at=previous + timedelta(microseconds=1))
    return release.bumped(signoffs=(*release.signoffs, signoff))


def with_known_issue(release: Release, issue: KnownIssue) -> Release:
    """The release with one more known issue (any time before it is cancelled)."""
    if release.state is ReleaseState.CANCELLED:
        raise StateConflict(f"release {release.id} is cancelled", state=release.state.value)
    return release.bumped(known_issues=(*release.known_issues, issue))


def cancelled(release: Release, reason: str, now: datetime) -> Release:
    """The release cancelled; 409 once it is released or already cancelled."""
    if release.state in (ReleaseState.RELEASED, ReleaseState.CANCELLED):
        raise StateConflict(
            f"release {release.id} is {release.state.value} and cannot be cancelled",
            state=release.state.value,
        )
    return release.bumped(state=ReleaseState.CANCELLED, cancelled_at=now, cancel_reason=reason)


def after_deployment(release: Release, deployment: Deployment) -> Release:
    """The release once `deployment` (a succeeded production deployment) is counted:
    in progress on the first of its services, released when every service has one.
    Drafts, finished and cancelled releases only record it."""
    deployments = (*release.deployments, deployment)
    state = release.state
    if state in (ReleaseState.SCOPED, ReleaseState.IN_PROGRESS):
        deployed = {d.service for d in deployments}
        if set(release.services) <= deployed:
            state = ReleaseState.RELEASED
        elif deployed & set(release.services):
            state = ReleaseState.IN_PROGRESS
    return release.bumped(state=state, deployments=deployments)


def reported_deployment(event: DeploymentFinished) -> tuple[str, Deployment] | None:
    """The release and deployment a DeploymentFinished counts for: a succeeded production
    deployment (not a rollback) of a release's service; None for any other."""
    if (
        not event.release_id
        or event.environment_tier is not EnvironmentTier.PRODUCTION
        or event.outcome is not DeploymentOutcome.SUCCEEDED
        or event.is_rollback
    ):
        return None
    return event.release_id, Deployment(event.service, event.deployment_id, event.finished_at)
