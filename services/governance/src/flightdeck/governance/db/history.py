"""Deployment outcome history: deployments, failed health checks and the per-day failure
aggregate risk scoring reads."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.governance.db.dialect import affected, insert_ignoring_duplicates, upsert_adding
from flightdeck.governance.db.tables import (
    change_services,
    changes,
    deployments,
    failure_buckets,
    health_failures,
)
from flightdeck.governance.domain.model import CloseCode
from flightdeck.governance.domain.risk import FailureHistory

Executor = AsyncSession | AsyncConnection
PRODUCTION = "production"
UNKNOWN_TEAM = ""


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """A finished deployment as history keeps it."""

    deployment_id: str
    service: str
    team: str
    environment: str
    tier: str
    outcome: str
    failed: bool
    finished_at: datetime
    change_id: str | None = None


@dataclass(frozen=True, slots=True)
class HealthFailure:
    """A failed health check."""

    deployment_id: str | None
    """The deployment it is blamed on (named by the check, or found), if known yet."""
    service: str
    environment: str
    check: str
    severity: str
    detected_at: datetime
    reported_deployment_id: str | None = None
    """The deployment the check itself named."""

    @property
    def key(self) -> str:
        """The natural key: the same failure reported twice is one failure (whether or not
        its deployment was known the first time)."""
        parts = [
            self.reported_deployment_id or "",
            self.service,
            self.environment,
            self.check,
            self.detected_at.isoformat(),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


async def failure_history(
    db: Executor, services: Sequence[str], team: str | None, since: date
) -> FailureHistory:
    """Production deployments and failures of `services` (by `team`, when named) since a day."""
    statement = select(
        func.coalesce(func.sum(failure_buckets.c.deployments), 0),
        func.coalesce(func.sum(failure_buckets.c.failures), 0),
    ).where(failure_buckets.c.service.in_(list(services)), failure_buckets.c.day >= since)
    if team is not None:
        statement = statement.where(failure_buckets.c.team == team)
    total, failed = (await db.execute(statement)).one()
    return FailureHistory(int(total), int(failed))


class HistoryRepository:
    """Writes of outcome history inside a unit of work; every write is keyed naturally, so a
    replayed event changes nothing."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_deployment(self, record: DeploymentRecord) -> bool:
        """Store a finished deployment; False when it was known already."""
        result = await self._session.execute(
            insert_ignoring_duplicates(
                self._session,
                deployments,
                {
                    "deployment_id": record.deployment_id,
                    "service": record.service,
                    "team": record.team,
                    "environment": record.environment,
                    "tier": record.tier,
                    "outcome": record.outcome,
                    "failed": record.failed,
                    "change_id": record.change_id,
                    "finished_at": record.finished_at,
                },
            )
        )
        if not affected(result):
            return False
        if record.tier == PRODUCTION:
            await self._count(
                record.service, record.team, record.finished_at, 1, int(record.failed)
            )
        return True

    async def record_failure(self, failure: HealthFailure) -> bool:
        """Store a failed health check; False when it was known already."""
        result = await self._session.execute(
            insert_ignoring_duplicates(
                self._session,
                health_failures,
                {
                    "id": failure.key,
                    "deployment_id": failure.deployment_id,
                    "service": failure.service,
                    "environment": failure.environment,
                    "check_name": failure.check,
                    "severity": failure.severity,
                    "detected_at": failure.detected_at,
                },
            )
        )
        return bool(affected(result))

    async def claim_failures(self, record: DeploymentRecord, within: timedelta) -> None:
        """Blame on a deployment that arrives late the failures of its service and environment
        that named no deployment and were detected within `within` after it finished, unless
        a later deployment had finished by then."""
        later = (
            select(deployments.c.deployment_id)
            .where(
                deployments.c.service == record.service,
                deployments.c.environment == record.environment,
                deployments.c.finished_at > record.finished_at,
                deployments.c.finished_at <= health_failures.c.detected_at,
            )
            .exists()
        )
        await self._session.execute(
            update(health_failures)
            .where(
                health_failures.c.deployment_id.is_(None),
                health_failures.c.service == record.service,
                health_failures.c.environment == record.environment,
                health_failures.c.detected_at >= record.finished_at,
                health_failures.c.detected_at <= record.finished_at + within,
                ~later,
            )
            .values(deployment_id=record.deployment_id)
        )

    async def failures_of(self, deployment_id: str) -> list[datetime]:
        """Detection times of failed health checks naming a deployment."""
        rows = await self._session.scalars(
            select(health_failures.c.detected_at).where(
                health_failures.c.deployment_id == deployment_id
            )
        )
        return list(rows)

    async def deployment(self, deployment_id: str) -> DeploymentRecord | None:
        """A known deployment."""
        row = (
            await self._session.execute(
                select(deployments).where(deployments.c.deployment_id == deployment_id)
            )
        ).one_or_none()
        return _record(row) if row is not None else None

    async def latest_before(
        self, service: str, environment: str, moment: datetime, within: timedelta
    ) -> DeploymentRecord | None:
        """The last deployment of a service to an environment finished in `within` before
        `moment` (the one a failure without a deployment id is blamed on)."""
        row = (
            await self._session.execute(
                select(deployments)
                .where(
                    deployments.c.service == service,
                    deployments.c.environment == environment,
                    deployments.c.finished_at <= moment,
                    deployments.c.finished_at >= moment - within,
                )
                .order_by(deployments.c.finished_at.desc())
                .limit(1)
            )
        ).one_or_none()
        return _record(row) if row is not None else None

    async def mark_failed(self, record: DeploymentRecord) -> None:
        """Count a deployment as failed (once)."""
        result = await self._session.execute(
            update(deployments)
            .where(deployments.c.deployment_id == record.deployment_id, ~deployments.c.failed)
            .values(failed=True)
        )
        if affected(result) and record.tier == PRODUCTION:
            await self._count(record.service, record.team, record.finished_at, 0, 1)

    async def _count(
        self, service: str, team: str, moment: datetime, deployed: int, failed: int
    ) -> None:
        await self._session.execute(
            upsert_adding(
                self._session,
                failure_buckets,
                {
                    "service": service,
                    "team": team,
                    "day": moment.date(),
                    "deployments": deployed,
                    "failures": failed,
                },
                keys=["service", "team", "day"],
                added=["deployments", "failures"],
            )
        )


def _record(row: Any) -> DeploymentRecord:
    return DeploymentRecord(
        row.deployment_id,
        row.service,
        row.team,
        row.environment,
        row.tier,
        row.outcome,
        row.failed,
        row.finished_at,
        row.change_id,
    )


@dataclass(frozen=True, slots=True)
class FailureRate:
    """Closed changes of one group and how many were unsuccessful."""

    group: str
    unsuccessful: int
    closed: int

    @property
    def rate(self) -> float | None:
        """unsuccessful / closed, or None without closed changes."""
        return self.unsuccessful / self.closed if self.closed else None


async def change_failure_rates(
    db: Executor, group_by: str, start: datetime, end: datetime
) -> list[FailureRate]:
    """Change failure rate per service or team over changes closed in `[start, end)`
    (cancelled changes left out)."""
    source: Any = changes
    group: Any = func.coalesce(changes.c.team, UNKNOWN_TEAM)
    if group_by == "service":
        source = changes.join(change_services, change_services.c.change_id == changes.c.id)
        group = change_services.c.service
    failed = func.sum(case((changes.c.close_code == CloseCode.UNSUCCESSFUL.value, 1), else_=0))
    statement = (
        select(group, failed, func.count())
        .select_from(source)
        .where(
            changes.c.closed_at >= start,
            changes.c.closed_at < end,
            changes.c.close_code != CloseCode.CANCELLED.value,
        )
        .group_by(group)
        .order_by(group)
    )
    rows = (await db.execute(statement)).all()
    return [FailureRate(row[0], int(row[1] or 0), int(row[2])) for row in rows]
