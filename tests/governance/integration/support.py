"""Requests and checks the governance tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text

from flightdeck.events.catalogue.common import EnvironmentTier
from flightdeck.events.catalogue.executor import DeploymentFinished, DeploymentOutcome
from flightdeck.events.tables import outbox
from flightdeck.events.testing import example
from flightdeck.kit.testing import Tokens, context_of

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""A Monday morning in London (business hours, no DST)."""


def change_body(**overrides: Any) -> dict[str, Any]:
    """A valid `POST /changes` body: low impact and complexity, in business hours."""
    body: dict[str, Any] = {
        "title": "Rotate TLS certificates",
        "services": ["checkout"],
        "environment": "production",
        "team": "payments",
        "urgency": "medium",
        "impact": "low",
        "complexity": "low",
        "schema_changes": False,
        "planned_start": MONDAY_10.isoformat(),
        "planned_end": (MONDAY_10 + timedelta(hours=1)).isoformat(),
    }
    body.update(overrides)
    return body


async def count_rows(client: httpx.AsyncClient, table: str) -> int:
    """Rows in one of the service's tables."""
    async with context_of(client.app).engine.connect() as conn:  # type: ignore[attr-defined]
        if table == "outbox":
            return int(await conn.scalar(select(func.count()).select_from(outbox)) or 0)
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar() or 0)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a refused request."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


async def approved_change(client: httpx.AsyncClient, tokens: Tokens) -> str:
    """A low-risk change on checkout, approved by one CAB member."""
    created = await client.post(
        "/changes", json=change_body(), headers=tokens.headers("rita", "releaser")
    )
    change_id: str = created.json()["id"]
    await client.post(
        f"/changes/{change_id}/approvals",
        json={"decision": "approve"},
        headers=tokens.headers("ann", "cab"),
    )
    return change_id


def succeeded_deployment(
    deployment_id: str, change_id: str, finished: datetime
) -> DeploymentFinished:
    """A successful production deployment of checkout by payments, for a change."""
    return example(
        DeploymentFinished,
        deployment_id=deployment_id,
        change_id=change_id,
        service="checkout",
        team="payments",
        environment="production",
        environment_tier=EnvironmentTier.PRODUCTION,
        outcome=DeploymentOutcome.SUCCEEDED,
        started_at=finished - timedelta(minutes=10),
        finished_at=finished,
    )
