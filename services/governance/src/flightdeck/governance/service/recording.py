"""What every use case does with a rule's outcome: save, publish, audit, notify."""

from __future__ import annotations

from datetime import datetime

from flightdeck.governance.db.uow import GovernanceUnitOfWork, webhook_body
from flightdeck.governance.domain.changes import Outcome
from flightdeck.governance.domain.webhooks import STATE_CHANGED


async def record_outcome(uow: GovernanceUnitOfWork, outcome: Outcome, now: datetime) -> None:
    """Stage the outcome's events, append its audit notes and queue a state-change webhook
    per transition (the caller saves the change and commits)."""
    change = outcome.change
    for event in outcome.events:
        uow.publish(event)
    await uow.audit.append(
        [(change.id, n.action, n.actor, now, n.reason, n.evidence) for n in outcome.notes]
    )
    for before, after in outcome.transitions:
        data = {
            "change_id": change.id,
            "number": change.number,
            "from": before.value,
            "to": after.value,
            "close_code": change.close_code.value if change.close_code else None,
        }
        body = webhook_body(
            f"{change.id}:{change.version}:{after.value}",
            STATE_CHANGED,
            change.id,
            now.isoformat(),
            data,
        )
        uow.notify(STATE_CHANGED, body)
