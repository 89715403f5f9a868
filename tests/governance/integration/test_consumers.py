"""Consumer handlers called directly on the running service's database (no broker): events out
of order, and replays under new event ids that only natural keys can recognise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from flightdeck.events.catalogue.common import EnvironmentTier
from flightdeck.events.catalogue.executor import DeploymentFinished, DeploymentOutcome
from flightdeck.events.catalogue.validation import HealthCheckFailed, Severity
from flightdeck.events.envelope import Envelope, Event
from flightdeck.events.testing import example
from flightdeck.governance.messaging.subscriptions import subscriptions
from flightdeck.kit.testing import Tokens, context_of
from tests.governance.integration.support import change_body, count_rows


async def deliver(client: httpx.AsyncClient, event: Event) -> None:
    """Hand `event` to its handler as the consumer would, under a fresh event id."""
    dispatch = subscriptions.dispatcher(context_of(client.app).uow)  # type: ignore[attr-defined]
    await dispatch(Envelope(data=event))


async def approved_change(client: httpx.AsyncClient, tokens: Tokens) -> str:
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


def finished_deployment(change_id: str, finished: datetime) -> DeploymentFinished:
    return example(
        DeploymentFinished,
        deployment_id="dep-9",
        change_id=change_id,
        service="checkout",
        team="payments",
        environment="production",
        environment_tier=EnvironmentTier.PRODUCTION,
        outcome=DeploymentOutcome.SUCCEEDED,
        started_at=finished - timedelta(minutes=10),
        finished_at=finished,
    )


async def test_a_failure_naming_no_deployment_that_comes_first_still_counts(
    governance: Any, tokens: Tokens
) -> None:
    viewer = tokens.headers("vic", "viewer")
    async with governance() as client:
        change_id = await approved_change(client, tokens)
        finished = datetime.now(UTC) - timedelta(hours=2)
        failure = example(
            HealthCheckFailed,
            deployment_id=None,
            service="checkout",
            environment="production",
            severity=Severity.CRITICAL,
            detected_at=finished + timedelta(minutes=5),
        )
        await deliver(client, failure)  # before its deployment is known
        await deliver(client, finished_deployment(change_id, finished))
        change = (await client.get(f"/changes/{change_id}", headers=viewer)).json()
        assert (change["state"], change["close_code"]) == ("closed", "unsuccessful")
        await deliver(client, failure)  # replayed under a new id, now that it is attributed
        assert await count_rows(client, "health_failures") == 1
        rates = (await client.get("/failure-rates?group_by=service", headers=viewer)).json()
        assert rates["groups"] == [
            {"group": "checkout", "numerator": 1, "denominator": 1, "rate": 1.0}
        ]
        closings = (await client.get(f"/audit?subject={change_id}", headers=viewer)).json()
        assert [r["action"] for r in closings["items"]].count("state:closed") == 1
