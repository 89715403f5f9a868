"""Policy versions and pre-approved templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.governance.db.dialect import affected, insert_ignoring_duplicates
from flightdeck.governance.db.tables import policies, templates
from flightdeck.governance.domain.classification import ChangeTemplate
from flightdeck.governance.domain.model import Complexity, Impact
from flightdeck.governance.domain.policy import DEFAULT_POLICY, Policy

Executor = AsyncSession | AsyncConnection


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One stored version of the policy."""

    version: int
    policy: Policy
    created_by: str
    created_at: datetime
    note: str


async def seed_default(db: Executor, now: datetime) -> None:
    """Store the default policy as version 1 unless a version exists (replicas may race)."""
    row = {
        "version": 1,
        "document": DEFAULT_POLICY.model_dump(mode="json"),
        "created_by": "governance",
        "created_at": now,
        "note": "default policy",
    }
    await db.execute(insert_ignoring_duplicates(db, policies, row))


async def policy_version(db: Executor, version: int | None = None) -> PolicyVersion | None:
    """A version of the policy (the latest when `version` is None)."""
    statement = select(policies)
    if version is None:
        statement = statement.order_by(policies.c.version.desc()).limit(1)
    else:
        statement = statement.where(policies.c.version == version)
    row = (await db.execute(statement)).one_or_none()
    if row is None:
        return None
    return PolicyVersion(
        row.version, Policy.model_validate(row.document), row.created_by, row.created_at, row.note
    )


async def add_policy_version(db: Executor, version: PolicyVersion) -> None:
    """Store a new version (the key refuses a second writer of the same number)."""
    await db.execute(
        insert(policies).values(
            version=version.version,
            document=version.policy.model_dump(mode="json"),
            created_by=version.created_by,
            created_at=version.created_at,
            note=version.note,
        )
    )


def _template(row: Any) -> ChangeTemplate:
    return ChangeTemplate(
        id=row.id,
        name=row.name,
        services=tuple(row.services),
        environment=row.environment,
        max_impact=Impact(row.max_impact),
        max_complexity=Complexity(row.max_complexity),
        allows_schema_changes=row.allows_schema_changes,
    )


async def template(db: Executor, template_id: str) -> ChangeTemplate | None:
    """One template."""
    row = (await db.execute(select(templates).where(templates.c.id == template_id))).one_or_none()
    return _template(row) if row is not None else None


async def template_page(
    db: Executor, after: str | None, limit: int
) -> list[tuple[ChangeTemplate, str]]:
    """Templates by name with their descriptions, after the cursor's name."""
    statement = select(templates).order_by(templates.c.name).limit(limit)
    if after is not None:
        statement = statement.where(templates.c.name > after)
    return [(_template(row), row.description) for row in await db.execute(statement)]


async def add_template(
    db: Executor, item: ChangeTemplate, description: str, by: str, at: datetime
) -> bool:
    """Store a template; False, storing nothing, when its name is taken (even by a template
    stored at the same moment)."""
    statement = insert_ignoring_duplicates(
        db,
        templates,
        {
            "id": item.id,
            "name": item.name,
            "description": description,
            "services": list(item.services),
            "environment": item.environment,
            "max_impact": item.max_impact.value,
            "max_complexity": item.max_complexity.value,
            "allows_schema_changes": item.allows_schema_changes,
            "created_by": by,
            "created_at": at,
        },
    )
    return bool(affected(await db.execute(statement)))
