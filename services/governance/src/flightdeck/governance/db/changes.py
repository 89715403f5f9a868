"""Change requests in the database, with their services and approvals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.governance.db.dialect import insert_ignoring_duplicates
from flightdeck.governance.db.tables import approvals, change_services, changes
from flightdeck.governance.domain.model import (
    ACTIVE_STATES,
    ApprovalRecord,
    ChangeRequest,
    ChangeState,
    Classification,
    CloseCode,
    Complexity,
    Decision,
    Impact,
    RiskLevel,
    Urgency,
)

Executor = AsyncSession | AsyncConnection

_SCALARS = [
    "id", "title", "release_id", "team", "environment", "schema_changes", "planned_start",
    "planned_end", "template_id", "risk_score", "policy_version", "requested_by",
    "oversight_required", "closed_at", "approved_at", "review_due_at", "reviewed_at", "review",
    "deployment_id", "implemented_at", "created_at", "version", "number",
]  # fmt: skip


def _change(row: Row[Any], decisions: Sequence[ApprovalRecord] = ()) -> ChangeRequest:
    values = {name: getattr(row, name) for name in _SCALARS}
    return ChangeRequest(
        **values,
        services=list(row.services),
        urgency=Urgency(row.urgency),
        impact=Impact(row.impact),
        complexity=Complexity(row.complexity),
        classification=Classification(row.classification),
        risk_level=RiskLevel(row.risk_level),
        state=ChangeState(row.state),
        close_code=CloseCode(row.close_code) if row.close_code else None,
        approvals=list(decisions),
    )


def _row(change: ChangeRequest) -> dict[str, Any]:
    values = {name: getattr(change, name) for name in _SCALARS if name != "number"}
    values.update(
        services=list(change.services),
        urgency=change.urgency.value,
        impact=change.impact.value,
        complexity=change.complexity.value,
        classification=change.classification.value,
        risk_level=change.risk_level.value,
        state=change.state.value,
        close_code=change.close_code.value if change.close_code else None,
    )
    return values


async def _decisions(db: Executor, change_ids: Sequence[str]) -> dict[str, list[ApprovalRecord]]:
    found: dict[str, list[ApprovalRecord]] = {ident: [] for ident in change_ids}
    if not change_ids:
        return found
    rows = await db.execute(
        select(approvals).where(approvals.c.change_id.in_(change_ids)).order_by(approvals.c.at)
    )
    for row in rows:
        found[row.change_id].append(
            ApprovalRecord(row.approver, row.role, Decision(row.decision), row.at, row.comment)
        )
    return found


async def load_many(db: Executor, statement: Select[Any]) -> list[ChangeRequest]:
    """The changes a `select(changes)` statement finds, with their approvals."""
    rows = (await db.execute(statement)).all()
    decisions = await _decisions(db, [row.id for row in rows])
    return [_change(row, decisions[row.id]) for row in rows]


async def load(db: Executor, change_id: str, *, for_update: bool = False) -> ChangeRequest | None:
    """One change by id (locked for the transaction with `for_update`)."""
    statement = select(changes).where(changes.c.id == change_id)
    if for_update:
        statement = statement.with_for_update()
    found = await load_many(db, statement)
    return found[0] if found else None


async def risk_factors(db: Executor, change_id: str) -> list[dict[str, Any]] | None:
    """The stored explanation of a change's risk score."""
    factors = await db.scalar(select(changes.c.risk_factors).where(changes.c.id == change_id))
    return list(factors) if factors is not None else None


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    """What `GET /changes` narrows by."""

    state: ChangeState | None = None
    environment: str | None = None
    service: str | None = None
    classification: Classification | None = None
    release_id: str | None = None
    review_overdue_at: datetime | None = None
    """List only changes whose required review is late at this time."""


def filtered(criteria: ChangeFilter, after: int | None, limit: int) -> Select[Any]:
    """Changes matching `criteria`, by number, after the cursor's number."""
    statement = select(changes).order_by(changes.c.number).limit(limit)
    if after is not None:
        statement = statement.where(changes.c.number > after)
    if criteria.state is not None:
        statement = statement.where(changes.c.state == criteria.state.value)
    if criteria.environment is not None:
        statement = statement.where(changes.c.environment == criteria.environment)
    if criteria.classification is not None:
        statement = statement.where(changes.c.classification == criteria.classification.value)
    if criteria.release_id is not None:
        statement = statement.where(changes.c.release_id == criteria.release_id)
    if criteria.service is not None:
        touched = select(change_services.c.change_id).where(
            change_services.c.service == criteria.service
        )
        statement = statement.where(changes.c.id.in_(touched))
    if criteria.review_overdue_at is not None:
        statement = statement.where(
            changes.c.review_due_at < criteria.review_overdue_at,
            changes.c.reviewed_at.is_(None),
        )
    return statement


def active_between(
    start: datetime,
    end: datetime,
    *,
    environment: str | None = None,
    after: tuple[datetime, int] | None = None,
) -> Select[Any]:
    """Changes still open whose planned window overlaps `[start, end)` (in one environment,
    when named), by planned start and number, after the cursor's `(planned_start, number)`."""
    statement = (
        select(changes)
        .where(
            changes.c.planned_start < end,
            changes.c.planned_end > start,
            changes.c.state.in_([state.value for state in ACTIVE_STATES]),
        )
        .order_by(changes.c.planned_start, changes.c.number)
    )
    if environment is not None:
        statement = statement.where(changes.c.environment == environment)
    if after is not None:
        moment, number = after
        statement = statement.where(
            or_(
                changes.c.planned_start > moment,
                (changes.c.planned_start == moment) & (changes.c.number > number),
            )
        )
    return statement


class ChangeRepository:
    """Writes of change requests, inside a unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, change_id: str) -> ChangeRequest | None:
        """A change, locked until the transaction ends."""
        return await load(self._session, change_id, for_update=True)

    async def by_release(self, release_id: str) -> ChangeRequest | None:
        """The change made for a release, if any."""
        found = await load_many(
            self._session,
            select(changes).where(changes.c.release_id == release_id).with_for_update(),
        )
        return found[0] if found else None

    async def by_deployment(
        self, deployment_id: str, change_id: str | None = None
    ) -> list[ChangeRequest]:
        """Changes a deployment implemented: the one it named, and any that recorded it."""
        implemented = changes.c.deployment_id == deployment_id
        if change_id is not None:
            implemented = or_(implemented, changes.c.id == change_id)
        return await load_many(self._session, select(changes).where(implemented).with_for_update())

    async def stabilizing(self) -> list[ChangeRequest]:
        """Non-emergency changes waiting in review with a successful outcome."""
        return await load_many(
            self._session,
            select(changes)
            .where(
                changes.c.state == ChangeState.REVIEW.value,
                changes.c.classification != Classification.EMERGENCY.value,
                changes.c.close_code == CloseCode.SUCCESSFUL.value,
            )
            .with_for_update(),
        )

    async def add(self, change: ChangeRequest, factors: list[dict[str, Any]]) -> bool:
        """Store a new change (its number is set from the database); False, storing
        nothing, when its release has a change already."""
        statement = insert_ignoring_duplicates(
            self._session,
            changes,
            {**_row(change), "risk_factors": factors, "updated_at": change.created_at},
        )
        number = await self._session.scalar(statement.returning(changes.c.number))
        if number is None:
            return False
        change.number = number
        await self._session.execute(
            insert(change_services),
            [{"change_id": change.id, "service": service} for service in set(change.services)],
        )
        await self._store_decisions(change, set())
        return True

    async def save(self, change: ChangeRequest, now: datetime) -> None:
        """Write a change's new state (its version goes up) and its new decisions."""
        change.version += 1
        values = _row(change)
        values.pop("id")
        await self._session.execute(
            update(changes).where(changes.c.id == change.id).values(**values, updated_at=now)
        )
        stored = await self._session.scalars(
            select(approvals.c.approver).where(approvals.c.change_id == change.id)
        )
        await self._store_decisions(change, set(stored))

    async def _store_decisions(self, change: ChangeRequest, stored: set[str]) -> None:
        fresh = [a for a in change.approvals if a.approver not in stored]
        if fresh:
            await self._session.execute(
                insert(approvals),
                [
                    {
                        "change_id": change.id,
                        "approver": a.approver,
                        "role": a.role,
                        "decision": a.decision.value,
                        "comment": a.comment,
                        "at": a.at,
                    }
                    for a in fresh
                ],
            )
