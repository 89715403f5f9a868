"""Use cases of the change policy and the pre-approved templates (both audited)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from flightdeck.governance.db import policies
from flightdeck.governance.db.policies import PolicyVersion
from flightdeck.governance.db.uow import GovernanceUnitOfWork
from flightdeck.governance.domain.classification import ChangeTemplate
from flightdeck.governance.domain.policy import Policy
from flightdeck.governance.service.changes import current_policy
from flightdeck.governance.service.errors import Duplicate, StaleVersion
from flightdeck.kit.versioning import check_if_match

POLICY_SUBJECT = "policy"
TEMPLATE_SUBJECT = "template:{id}"


async def replace_policy(
    uow: GovernanceUnitOfWork,
    policy: Policy,
    *,
    note: str,
    actor: str,
    if_match: str | None,
    now: datetime,
) -> PolicyVersion:
    """Store `policy` as the next version; the versions before stay as they were."""
    async with uow:
        current = await current_policy(uow.session)
        check_if_match(if_match, current.version)
        fresh = PolicyVersion(current.version + 1, policy, actor, now, note)
        try:
            await policies.add_policy_version(uow.session, fresh)
        except IntegrityError as exc:
            raise StaleVersion(f"version {fresh.version} was written meanwhile") from exc
        evidence = {
            "from_version": current.version,
            "to_version": fresh.version,
            "policy": policy.model_dump(mode="json"),
        }
        await uow.audit.append([(POLICY_SUBJECT, "policy-change", actor, now, note, evidence)])
        await uow.commit()
    return fresh


async def add_template(
    uow: GovernanceUnitOfWork,
    template: ChangeTemplate,
    *,
    description: str,
    actor: str,
    now: datetime,
) -> ChangeTemplate:
    """Register a pre-approved template (names are unique)."""
    item = ChangeTemplate(**{**asdict(template), "id": str(uuid.uuid4())})
    async with uow:
        if not await policies.add_template(uow.session, item, description, actor, now):
            raise Duplicate(f"a template named {item.name!r} exists")
        evidence = {**asdict(item), "description": description}
        subject = TEMPLATE_SUBJECT.format(id=item.id)
        await uow.audit.append([(subject, "template-added", actor, now, item.name, evidence)])
        await uow.commit()
    return item
