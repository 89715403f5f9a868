"""Repositories: releases and the business calendar, loaded and saved with Core statements
(a whole release in one query per table, never one per item)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.planning.db import tables as t
from flightdeck.planning.db.rows import (
    blackout_values,
    item_values,
    release_values,
    to_blackout,
    to_item,
    to_known_issue,
    to_release,
    to_signoff,
    to_toggle,
)
from flightdeck.planning.domain.calendar import Blackout
from flightdeck.planning.domain.model import (
    Deployment,
    Item,
    KnownIssue,
    Rejection,
    Release,
    ReleaseState,
    Signoff,
    Toggle,
)
from flightdeck.planning.domain.scope import ForeignItem

Database = AsyncSession | AsyncConnection
"""A unit of work's session, or a read-only connection."""


class ConcurrentChange(Exception):
    """The release changed since it was loaded (another writer got there first)."""


class Releases:
    """Releases and what they carry."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, release_id: str) -> Release | None:
        """The whole release, or None."""
        row = (
            await self._db.execute(select(t.releases).where(t.releases.c.id == release_id))
        ).first()
        if row is None:
            return None
        where = release_id
        item_rows = await self._rows(t.items, t.items.c.release_id == where, t.items.c.position)
        toggle_rows = await self._rows(t.toggles, t.toggles.c.release_id == where, t.toggles.c.key)
        signoff_rows = await self._rows(
            t.signoffs, t.signoffs.c.release_id == where, t.signoffs.c.signed_at
        )
        issue_rows = await self._rows(
            t.known_issues, t.known_issues.c.release_id == where, t.known_issues.c.reported_at
        )
        deployment_rows = await self._rows(
            t.deployments, t.deployments.c.release_id == where, t.deployments.c.service
        )
        rejection_rows = await self._rows(
            t.change_rejections,
            t.change_rejections.c.release_id == where,
            t.change_rejections.c.rejected_at,
        )
        return replace(
            to_release(row),
            items=tuple(to_item(r) for r in item_rows),
            toggles=tuple(to_toggle(r) for r in toggle_rows),
            signoffs=tuple(to_signoff(r) for r in signoff_rows),
            known_issues=tuple(to_known_issue(r) for r in issue_rows),
            deployments=tuple(
                Deployment(r.service, r.deployment_id, r.finished_at) for r in deployment_rows
            ),
            rejections=tuple(
                Rejection(r.change_id, r.rejected_by, r.reason, r.rejected_at)
                for r in rejection_rows
            ),
        )

    async def _rows(self, table: Any, where: Any, order: Any) -> Sequence[Row[Any]]:
        return (await self._db.execute(select(table).where(where).order_by(order))).all()

    async def add(self, release: Release) -> None:
        """Store a new release."""
        await self._db.execute(insert(t.releases).values(**release_values(release)))
        await self._db.execute(
            insert(t.release_services),
            [
                {"release_id": release.id, "service": s, "planned_start": release.planned_start}
                for s in release.services
            ],
        )

    async def update(self, before: Release, after: Release) -> None:
        """Save the release row's changes; ConcurrentChange when someone else changed it since
        `before` was read."""
        values = release_values(after)
        for fixed in ("id", "created_by", "created_at"):
            values.pop(fixed)
        result = await self._db.execute(
            update(t.releases)
            .where(t.releases.c.id == before.id)
            .where(t.releases.c.resource_version == before.resource_version)
            .values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentChange(before.id)

    async def add_items(self, items: Iterable[Item]) -> None:
        """Store new scope items."""
        rows = [item_values(item) for item in items]
        if rows:
            await self._db.execute(insert(t.items), rows)

    async def remove_items(self, release_id: str, item_ids: Sequence[str]) -> None:
        """Delete scope items of a release."""
        await self._db.execute(
            delete(t.items).where(t.items.c.release_id == release_id, t.items.c.id.in_(item_ids))
        )

    async def add_toggle(self, release_id: str, toggle: Toggle) -> None:
        """Store a documented toggle."""
        await self._db.execute(
            insert(t.toggles).values(
                release_id=release_id,
                key=toggle.key,
                owner=toggle.owner,
                default_on=toggle.default,
                remove_by=toggle.remove_by,
                description=toggle.description,
            )
        )

    async def add_signoff(self, release_id: str, ident: str, signoff: Signoff) -> None:
        """Store a readiness decision."""
        await self._db.execute(
            insert(t.signoffs).values(
                id=ident,
                release_id=release_id,
                function=signoff.function.value,
                decision=signoff.decision.value,
                signer=signoff.signer,
                note=signoff.note,
                signed_at=signoff.at,
            )
        )

    async def add_known_issue(self, release_id: str, issue: KnownIssue) -> None:
        """Store a known issue."""
        await self._db.execute(
            insert(t.known_issues).values(
                id=issue.id,
                release_id=release_id,
                title=issue.title,
                workaround=issue.workaround,
                impact=issue.impact,
                reported_by=issue.reported_by,
                reported_at=issue.reported_at,
            )
        )

    async def record_deployment(self, release_id: str, deployment: Deployment) -> bool:
        """Remember a succeeded production deployment; False when the service already had one."""
        return await self._insert_new(
            t.deployments,
            ["release_id", "service"],
            release_id=release_id,
            service=deployment.service,
            deployment_id=deployment.deployment_id,
            finished_at=deployment.finished_at,
        )

    async def record_rejection(self, release_id: str, rejection: Rejection) -> bool:
        """Remember a rejected change; False when it was known already."""
        return await self._insert_new(
            t.change_rejections,
            ["release_id", "change_id"],
            release_id=release_id,
            change_id=rejection.change_id,
            rejected_by=rejection.rejected_by,
            reason=rejection.reason,
            rejected_at=rejection.at,
        )

    async def _insert_new(self, table: Any, key: list[str], **values: Any) -> bool:
        dialect = postgresql if _dialect(self._db) == "postgresql" else sqlite
        statement = (
            dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=key)
        )
        result = await self._db.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def foreign_items(
        self, release_id: str, item_ids: Iterable[str]
    ) -> dict[str, ForeignItem]:
        """Items of other releases among `item_ids`, with their release's state."""
        wanted = sorted(set(item_ids))
        if not wanted:
            return {}
        rows = (
            await self._db.execute(
                select(t.items.c.id, t.items.c.release_id, t.releases.c.state)
                .join(t.releases, t.releases.c.id == t.items.c.release_id)
                .where(t.items.c.id.in_(wanted), t.items.c.release_id != release_id)
            )
        ).all()
        return {r.id: ForeignItem(r.id, r.release_id, ReleaseState(r.state)) for r in rows}


class Calendar:
    """Blackout periods."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, blackout: Blackout) -> None:
        """Store a new blackout."""
        await self._db.execute(insert(t.blackouts).values(**blackout_values(blackout)))

    async def remove(self, blackout_id: str) -> bool:
        """Delete a blackout; False when there was none."""
        result = await self._db.execute(delete(t.blackouts).where(t.blackouts.c.id == blackout_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def all(self) -> list[Blackout]:
        """Every blackout, oldest declaration first."""
        rows = (
            await self._db.execute(
                select(t.blackouts).order_by(t.blackouts.c.declared_at, t.blackouts.c.id)
            )
        ).all()
        return [to_blackout(row) for row in rows]


def _dialect(db: Database) -> str:
    if isinstance(db, AsyncConnection):
        return db.dialect.name
    bind = db.get_bind()
    return bind.dialect.name
