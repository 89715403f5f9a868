"""Read-only questions: a change with its conflicts, the conflicts report, overdue reviews,
failure rates, the audit trail, policy versions, templates and webhook receivers. They run on
the reader (never waiting for writers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.governance.db import audit, history, policies, webhooks
from flightdeck.governance.db import changes as stored
from flightdeck.governance.db.calendar import active_blackouts
from flightdeck.governance.db.changes import ChangeFilter
from flightdeck.governance.db.history import FailureRate
from flightdeck.governance.db.policies import PolicyVersion
from flightdeck.governance.db.webhooks import Subscription
from flightdeck.governance.domain.audit import AuditRecord, ChainCheck
from flightdeck.governance.domain.classification import ChangeTemplate
from flightdeck.governance.domain.conflicts import Conflict, conflicts_of
from flightdeck.governance.domain.model import ChangeRequest
from flightdeck.governance.service.errors import NotFound

ChangeWithConflicts = tuple[ChangeRequest, list[Conflict]]


async def change(conn: AsyncConnection, change_id: str) -> ChangeRequest:
    """One change."""
    found = await stored.load(conn, change_id)
    if found is None:
        raise NotFound("change", change_id)
    return found


async def with_conflicts(
    conn: AsyncConnection, items: list[ChangeRequest]
) -> list[ChangeWithConflicts]:
    """Each change with its clashes against the other open changes and the blackouts."""
    if not items:
        return []
    start = min(item.planned_start for item in items)
    end = max(item.planned_end for item in items)
    others = await stored.load_many(conn, stored.active_between(start, end))
    blackouts = await active_blackouts(conn)
    return [(item, conflicts_of(item, others, blackouts)) for item in items]


async def change_list(
    conn: AsyncConnection, criteria: ChangeFilter, after: int | None, limit: int
) -> list[ChangeRequest]:
    """A page of changes by number."""
    return await stored.load_many(conn, stored.filtered(criteria, after, limit))


async def conflicts_report(
    conn: AsyncConnection,
    *,
    environment: str | None,
    start: datetime,
    end: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
) -> tuple[list[ChangeWithConflicts], tuple[datetime, int] | None]:
    """Open changes planned in `[start, end)` (in one environment, when named) that clash
    with something, a page at a time; and the cursor key of the next page."""
    statement = stored.active_between(start, end, environment=environment, after=after)
    page = await stored.load_many(conn, statement.limit(limit))
    clashing = [(item, found) for item, found in await with_conflicts(conn, page) if found]
    last = page[-1] if len(page) == limit else None
    return clashing, (last.planned_start, last.number or 0) if last else None


async def risk_of(
    conn: AsyncConnection, change_id: str
) -> tuple[ChangeRequest, list[dict[str, object]]]:
    """A change and the stored explanation of its risk score."""
    found = await change(conn, change_id)
    return found, await stored.risk_factors(conn, change_id) or []


async def audit_trail(
    conn: AsyncConnection, subject: str | None, after: int | None, limit: int
) -> list[AuditRecord]:
    """A page of audit records in order, optionally about one subject."""
    return await audit.audit_page(conn, subject, after, limit)


async def verify_audit(conn: AsyncConnection) -> ChainCheck:
    """Re-compute the audit chain."""
    return await audit.verify_chain(conn)


async def failure_rates(
    conn: AsyncConnection, group_by: str, start: datetime, end: datetime
) -> list[FailureRate]:
    """Change failure rate per service or team over changes closed in `[start, end)`."""
    return await history.change_failure_rates(conn, group_by, start, end)


async def policy_version(conn: AsyncConnection, version: int) -> PolicyVersion:
    """One stored version of the policy."""
    found = await policies.policy_version(conn, version)
    if found is None:
        raise NotFound("policy version", str(version))
    return found


async def templates(
    conn: AsyncConnection, after: str | None, limit: int
) -> list[tuple[ChangeTemplate, str]]:
    """A page of templates by name, each with its description."""
    return await policies.template_page(conn, after, limit)


async def subscriptions(conn: AsyncConnection, after: str | None, limit: int) -> list[Subscription]:
    """A page of webhook receivers by id."""
    return await webhooks.subscription_page(conn, after, limit)


async def deliveries(
    conn: AsyncConnection, subscription_id: str, limit: int
) -> list[dict[str, Any]]:
    """The latest deliveries to a known receiver."""
    if not await webhooks.subscription_exists(conn, subscription_id):
        raise NotFound("subscription", subscription_id)
    return await webhooks.deliveries_of(conn, subscription_id, limit)
