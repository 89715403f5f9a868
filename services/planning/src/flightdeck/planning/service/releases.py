"""Use cases of releases: each loads the release, asks the domain, saves and stages the
events it causes, in one unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from flightdeck.events.envelope import Event
from flightdeck.kit.versioning import check_if_match
from flightdeck.planning.db.uow import PlanningUnitOfWork
from flightdeck.planning.domain import calendar, lifecycle, scope
from flightdeck.planning.domain import events as integration
from flightdeck.planning.domain.errors import NotFound, RulesBroken
from flightdeck.planning.domain.model import (
    Deployment,
    Item,
    KnownIssue,
    Rejection,
    Release,
    ReleasePlan,
    ReleaseState,
    RollbackCriterion,
    Signoff,
    Toggle,
)
from flightdeck.planning.domain.scope import ItemDraft

log = logging.getLogger(__name__)

Change = Callable[[Release], Awaitable[tuple[Release, list[Event]]]]


def new_id() -> str:
    """A fresh identifier."""
    return str(uuid.uuid4())


async def plan(uow: PlanningUnitOfWork, draft: ReleasePlan, by: str, now: datetime) -> Release:
    """Put a new draft release in the plan (ReleasePlanned)."""
    release = lifecycle.plan_release(draft, new_id(), by, now)
    async with uow:
        await uow.releases.add(release)
        uow.publish(integration.release_planned(release))
        await uow.commit()
    return release


async def get(uow: PlanningUnitOfWork, release_id: str) -> Release:
    """The release; NotFound when it does not exist."""
    release = await uow.releases.get(release_id)
    if release is None:
        raise NotFound("release", release_id)
    return release


async def _change(
    uow: PlanningUnitOfWork, release_id: str, if_match: str | None, change: Change
) -> Release:
    """Load, check `If-Match`, apply `change`, save with the version guard, stage events."""
    async with uow:
        before = await get(uow, release_id)
        check_if_match(if_match, before.resource_version)
        after, events = await change(before)
        await uow.releases.update(before, after)
        for event in events:
            uow.publish(event)
        await uow.commit()
    return after


async def add_items(
    uow: PlanningUnitOfWork,
    release_id: str,
    drafts: Sequence[ItemDraft],
    if_match: str | None,
    *,
    location: str = "body",
) -> tuple[Release, list[Item]]:
    """Add scope items to a draft release (all or none)."""
    added: list[Item] = []

    async def change(release: Release) -> tuple[Release, list[Event]]:
        ids = [draft.id or new_id() for draft in drafts]
        wanted = {need for draft in drafts for need in draft.depends_on} | set(ids)
        foreign = await uow.releases.foreign_items(release.id, wanted)
        items = scope.admit_items(release, drafts, ids, foreign, location=location)
        await uow.releases.add_items(items)
        added.extend(items)
        return release.bumped(items=(*release.items, *items)), []

    release = await _change(uow, release_id, if_match, change)
    return release, added


async def remove_item(
    uow: PlanningUnitOfWork,
    release_id: str,
    item_id: str,
    *,
    cascade: bool,
    reason: str | None,
    if_match: str | None,
    by: str,
    now: datetime,
) -> Release:
    """Remove an item (with its dependants when `cascade`); from a scoped release this is a
    scope reduction (ScopeReduced)."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        removed = scope.removal(release, item_id, cascade=cascade, reason=reason)
        await uow.releases.remove_items(release.id, removed)
        after = release.bumped(items=tuple(i for i in release.items if i.id not in removed))
        if release.state is not ReleaseState.SCOPED:
            return after, []
        return after, [integration.scope_reduced(release, removed, reason or "", by, now)]

    return await _change(uow, release_id, if_match, change)


async def set_rollback_criteria(
    uow: PlanningUnitOfWork,
    release_id: str,
    criteria: Sequence[RollbackCriterion],
    if_match: str | None,
) -> Release:
    """Replace the release's rollback criteria."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        return lifecycle.with_criteria(release, criteria), []

    return await _change(uow, release_id, if_match, change)


async def document_toggle(
    uow: PlanningUnitOfWork, release_id: str, toggle: Toggle, if_match: str | None
) -> Release:
    """Document a feature toggle of the release."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        after = lifecycle.with_toggle(release, toggle)
        await uow.releases.add_toggle(release.id, toggle)
        return after, []

    return await _change(uow, release_id, if_match, change)


async def sign(
    uow: PlanningUnitOfWork, release_id: str, signoff: Signoff, if_match: str | None
) -> Release:
    """Record a readiness decision (ReleaseReadinessSigned)."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        after = lifecycle.with_signoff(release, signoff)
        signed = after.signoffs[-1]
        await uow.releases.add_signoff(release.id, new_id(), signed)
        return after, [integration.readiness_signed(release, signed)]

    return await _change(uow, release_id, if_match, change)


async def report_known_issue(
    uow: PlanningUnitOfWork, release_id: str, issue: KnownIssue, if_match: str | None
) -> Release:
    """Record a known issue for the release notes."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        after = lifecycle.with_known_issue(release, issue)
        await uow.releases.add_known_issue(release.id, issue)
        return after, []

    return await _change(uow, release_id, if_match, change)


async def freeze_scope(
    uow: PlanningUnitOfWork, release_id: str, if_match: str | None, now: datetime
) -> Release:
    """Freeze the scope when every rule holds (ReleaseScoped); RulesBroken listing every
    violation otherwise."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        scope.ensure_draft(release, "freeze the scope")
        in_scope = {item.id for item in release.items}
        needs = {n for item in release.items for n in item.depends_on if n not in in_scope}
        foreign = await uow.releases.foreign_items(release.id, needs)
        blackouts = [
            b for b in await uow.calendar.all() if b.applies_to(release.services, release.team)
        ]
        overlapping = calendar.conflicts(blackouts, release.planned_start, release.planned_end)
        free = (
            calendar.next_free_start(
                blackouts, release.planned_start, release.planned_end - release.planned_start
            )
            if overlapping
            else None
        )
        after = scope.scoped(release, now)
        event = integration.release_scoped(after, now)
        broken = [
            *scope.violations(release, foreign, overlapping, free),
            *integration.size_violations(event),
        ]
        if broken:
            raise RulesBroken(
                f"release {release.id} cannot be scoped: {len(broken)} rule(s) broken", broken
            )
        return after, [event]

    return await _change(uow, release_id, if_match, change)


async def cancel(
    uow: PlanningUnitOfWork,
    release_id: str,
    reason: str,
    if_match: str | None,
    by: str,
    now: datetime,
) -> Release:
    """Call the release off (ReleaseCancelled)."""

    async def change(release: Release) -> tuple[Release, list[Event]]:
        after = lifecycle.cancelled(release, reason, now)
        return after, [integration.release_cancelled(after, by)]

    return await _change(uow, release_id, if_match, change)


async def record_deployment(
    uow: PlanningUnitOfWork, release_id: str, deployment: Deployment
) -> None:
    """Count a succeeded production deployment towards the release; kept even when the
    release is unknown here (yet), and counted once per service whatever the delivery."""
    async with uow:
        before = await uow.releases.get(release_id)
        if not await uow.releases.record_deployment(release_id, deployment):
            log.info("release %s: %s was deployed before", release_id, deployment.service)
            await uow.commit()
            return
        if before is None:
            log.warning(
                "deployment %s names unknown release %s; kept for later",
                deployment.deployment_id,
                release_id,
            )
        else:
            after = lifecycle.after_deployment(before, deployment)
            await uow.releases.update(before, after)
            if after.state is not before.state:
                log.info("release %s is now %s", release_id, after.state.value)
        await uow.commit()


async def record_rejection(uow: PlanningUnitOfWork, release_id: str, rejection: Rejection) -> None:
    """Flag the release with a rejected change (once per change, whatever the delivery)."""
    async with uow:
        if await uow.releases.record_rejection(release_id, rejection):
            before = await uow.releases.get(release_id)
            if before is None:
                log.warning(
                    "rejected change %s names unknown release %s; kept for later",
                    rejection.change_id,
                    release_id,
                )
            else:
                await uow.releases.update(before, before.bumped())
        await uow.commit()
