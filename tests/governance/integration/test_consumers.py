"""Consumer handlers called directly on the running service's database (no broker): events out
of order, and replays under new event ids that only natural keys can recognise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from flightdeck.events.catalogue.validation import HealthCheckFailed, Severity
from flightdeck.events.envelope import Envelope, Event
from flightdeck.events.testing import example
from flightdeck.governance.messaging.subscriptions import subscriptions
from flightdeck.kit.testing import Tokens, context_of
from tests.governance.integration.support import (
    approved_change,
    count_rows,
    succeeded_deployment,
)


async def deliver(client: httpx.AsyncClient, event: Event) -> None:
    """Hand `event` to its handler as the consumer would, under a fresh event id."""
    dispatch = subscriptions.dispatcher(context_of(client.app).uow)  # type: ignore[attr-defined]
    await dispatch(Envelope(data=event))


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
        await deliver(client, succeeded_deployment("dep-9", change_id, finished))
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
