"""Use cases of change requests: request, decide, cancel, review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.events.catalogue.planning import ReleaseScoped
from flightdeck.governance.db import policies
from flightdeck.governance.db.calendar import active_blackouts
from flightdeck.governance.db.history import failure_history
from flightdeck.governance.db.policies import PolicyVersion
from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.governance.domain import approvals, lifecycle
from flightdeck.governance.domain.calendar import blackouts_touching, within_business_hours
from flightdeck.governance.domain.changes import Outcome
from flightdeck.governance.domain.classification import ChangeShape, template_mismatches
from flightdeck.governance.domain.lifecycle import ChangeDraft
from flightdeck.governance.domain.model import ChangeRequest, CloseCode, Decision
from flightdeck.governance.domain.policy import Policy
from flightdeck.governance.domain.releases import release_draft
from flightdeck.governance.domain.risk import RiskAssessment, RiskInputs, assess_risk
from flightdeck.governance.service.errors import Duplicate, InvalidReference, NotFound
from flightdeck.governance.service.recording import record_outcome
from flightdeck.kit.versioning import check_if_match

Executor = AsyncSession | AsyncConnection


async def current_policy(db: Executor) -> PolicyVersion:
    """The latest policy version (seeded at startup)."""
    found = await policies.policy_version(db)
    if found is None:
        raise RuntimeError("no policy version stored: the service seeds version 1 at startup")
    return found


async def policy_of(db: Executor, change: ChangeRequest) -> Policy:
    """The policy version a change was judged by."""
    found = await policies.policy_version(db, change.policy_version)
    return found.policy if found is not None else (await current_policy(db)).policy


async def assess(db: Executor, draft: ChangeDraft, policy: Policy, now: datetime) -> RiskAssessment:
    """Score a draft with the failure history, blackouts and business hours it meets."""
    since = (now - timedelta(days=policy.failure_window_days)).date()
    history = await failure_history(db, draft.services, draft.team, since)
    periods = blackouts_touching(
        await active_blackouts(db),
        draft.services,
        draft.team,
        draft.planned_start,
        draft.planned_end,
    )
    inputs = RiskInputs(
        impact=draft.impact,
        complexity=draft.complexity,
        service_count=len(set(draft.services)),
        schema_changes=draft.schema_changes,
        history=history,
        inside_blackout=bool(periods),
        outside_business_hours=not within_business_hours(
            policy.business_hours, draft.planned_start, draft.planned_end
        ),
    )
    return assess_risk(inputs, policy)


async def _template_matches(db: Executor, draft: ChangeDraft) -> bool:
    if draft.template_id is None:
        return False
    template = await policies.template(db, draft.template_id)
    if template is None:
        raise InvalidReference("body.template_id", f"template {draft.template_id} does not exist")
    shape = ChangeShape(
        draft.services, draft.environment, draft.impact, draft.complexity, draft.schema_changes
    )
    return not template_mismatches(template, shape)


async def request_change(
    uow: GovernanceUnitOfWork, draft: ChangeDraft, now: datetime, *, replay: bool = False
) -> ChangeRequest:
    """Open a change request. A release has at most one: asking again (even at the same
    moment) is refused, or, for a `replay` of the release's event, answered with the change
    made the first time."""
    async with uow:
        existing = await uow.changes.by_release(draft.release_id) if draft.release_id else None
        if existing is None:
            version = await current_policy(uow.session)
            matches = await _template_matches(uow.session, draft)
            risk = await assess(uow.session, draft, version.policy, now)
            outcome = lifecycle.open_change(
                draft,
                risk=risk,
                template_matches=matches,
                policy=version.policy,
                policy_version=version.version,
                now=now,
            )
            factors = [asdict(factor) for factor in risk.factors]
            if await uow.changes.add(outcome.change, factors):
                await record_outcome(uow, outcome, now)
                await uow.commit()
                return outcome.change
            existing = await uow.changes.by_release(draft.release_id or "")  # made meanwhile
        if existing is None or not replay:
            made = existing.id if existing else "a change"
            raise Duplicate(f"release {draft.release_id} has change {made} already")
        await uow.commit()  # keeps the inbox entry of the redelivered event
        return existing


async def request_release_change(
    uow: GovernanceUnitOfWork, event: ReleaseScoped, requester: str, change_id: str, now: datetime
) -> ChangeRequest:
    """The change request of a scoped release."""
    draft = release_draft(event, change_id, requester)
    return await request_change(uow, draft, now, replay=True)


Rule = Callable[[ChangeRequest, Policy], Outcome]
"""A domain rule applied to a change under the policy it was judged by."""


async def _apply(
    uow: GovernanceUnitOfWork, change_id: str, if_match: str | None, rule: Rule, now: datetime
) -> ChangeRequest:
    """Load the change (locked), check `If-Match`, apply `rule`, save and record the outcome."""
    async with uow:
        change = await uow.changes.get(change_id)
        if change is None:
            raise NotFound("change", change_id)
        check_if_match(if_match, change.version)
        outcome = rule(change, await policy_of(uow.session, change))
        await uow.changes.save(change, now)
        await record_outcome(uow, outcome, now)
        await uow.commit()
    return change


async def decide(
    uow: GovernanceUnitOfWork,
    change_id: str,
    *,
    subject: str,
    held_roles: frozenset[str],
    decision: Decision,
    comment: str,
    if_match: str | None,
    now: datetime,
) -> ChangeRequest:
    """Record an approval or rejection."""

    def rule(change: ChangeRequest, policy: Policy) -> Outcome:
        return approvals.decide(
            change,
            subject=subject,
            held_roles=held_roles,
            decision=decision,
            comment=comment,
            policy=policy,
            now=now,
        )

    return await _apply(uow, change_id, if_match, rule, now)


async def cancel(
    uow: GovernanceUnitOfWork,
    change_id: str,
    actor: str,
    reason: str,
    if_match: str | None,
    now: datetime,
) -> ChangeRequest:
    """Withdraw a change before it is implemented."""
    return await _apply(
        uow,
        change_id,
        if_match,
        lambda change, _: lifecycle.cancel(change, actor, reason, now),
        now,
    )


async def review(
    uow: GovernanceUnitOfWork,
    change_id: str,
    *,
    reviewer: str,
    code: CloseCode,
    lessons: str,
    actions: list[str],
    now: datetime,
) -> ChangeRequest:
    """Record the post-implementation review."""

    def rule(change: ChangeRequest, _policy: Policy) -> Outcome:
        return lifecycle.submit_review(
            change, reviewer=reviewer, code=code, lessons=lessons, actions=actions, now=now
        )

    return await _apply(uow, change_id, None, rule, now)


async def cancel_release_change(
    uow: GovernanceUnitOfWork, release_id: str, reason: str, now: datetime
) -> None:
    """A cancelled release withdraws its change, unless implementation started."""
    async with uow:
        change = await uow.changes.by_release(release_id)
        if change is not None and change.state in lifecycle.CANCELLABLE:
            outcome = lifecycle.cancel(change, "planning", reason, now)
            await uow.changes.save(change, now)
            await record_outcome(uow, outcome, now)
        await uow.commit()
