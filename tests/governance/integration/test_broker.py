"""Events through the real broker: consumed twice with one effect, and published through
the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from flightdeck.events.catalogue.executor import (
    DeploymentStarted,
)
from flightdeck.events.catalogue.governance import ChangeApproved, ChangeClosed, ChangeRequested
from flightdeck.events.catalogue.planning import (
    BlackoutDeclared,
    BlackoutWithdrawn,
    ReleaseCancelled,
    ReleaseScoped,
)
from flightdeck.events.catalogue.validation import HealthCheckFailed, Severity
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import TopicProbe, eventually, example, publish
from flightdeck.events.topics import events_topic
from flightdeck.kit.testing import Tokens
from tests.governance.integration.support import (
    MONDAY_10,
    approved_change,
    change_body,
    count_rows,
    succeeded_deployment,
)

FAST = {"webhook_poll_seconds": 0.1, "stabilization_check_seconds": 0.2}


def _of_type(probe: TopicProbe, kind: type[Any], change_id: str) -> list[Any]:
    return [
        e.data
        for e in probe.envelopes()
        if isinstance(e.data, kind) and e.data.change_id == change_id
    ]


async def test_release_scoped_twice_makes_one_change(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    event = example(ReleaseScoped, release_id="rel-7", owner="olga", services=["checkout"])
    first = Envelope(data=event)
    async with start_service("governance", **FAST) as client:
        viewer = tokens.headers("vic", "viewer")
        await publish(kafka, first, first, Envelope(data=event))  # a replay under a new id too

        async def changes_for_release() -> list[dict[str, Any]]:
            response = await client.get("/changes?release_id=rel-7", headers=viewer)
            return list(response.json()["items"])

        [change] = await eventually(changes_for_release)
        assert change["requested_by"] == "olga"
        assert change["services"] == ["checkout"]
        await eventually(lambda: _inbox_rows(client, 2))
        assert len(await changes_for_release()) == 1
        async with TopicProbe(kafka, events_topic("governance")) as probe:
            await probe.wait_for(lambda _: bool(_of_type(probe, ChangeRequested, change["id"])))
            await probe.poll(0.5)
            [requested] = _of_type(probe, ChangeRequested, change["id"])
        assert requested.release_id == "rel-7"
        await publish(kafka, Envelope(data=example(ReleaseCancelled, release_id="rel-7")))

        async def cancelled() -> bool:
            [change] = await changes_for_release()
            return bool(change["state"] == "cancelled")

        await eventually(cancelled)


async def _inbox_rows(client: httpx.AsyncClient, wanted: int) -> bool:
    return await count_rows(client, "inbox") >= wanted


async def test_change_approved_follows_the_last_needed_approval(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    async with start_service("governance", **FAST) as client:
        created = await client.post(
            "/changes",
            json=change_body(impact="high", complexity="medium"),
            headers=tokens.headers("rita", "releaser"),
        )
        change_id = created.json()["id"]
        async with TopicProbe(kafka, events_topic("governance")) as probe:
            for who in ("ann", "bob"):
                await probe.wait_for(lambda _: bool(_of_type(probe, ChangeRequested, change_id)))
                assert _of_type(probe, ChangeApproved, change_id) == []
                await client.post(
                    f"/changes/{change_id}/approvals",
                    json={"decision": "approve"},
                    headers=tokens.headers(who, "cab"),
                )
            await probe.wait_for(lambda _: bool(_of_type(probe, ChangeApproved, change_id)))
            [approved] = _of_type(probe, ChangeApproved, change_id)
        assert [(a.approver, a.role) for a in approved.approvals] == [
            ("ann", "cab"),
            ("bob", "cab"),
        ]
        assert approved.risk_level.value == "medium"
        assert approved.oversight_required is False


async def test_health_failure_before_its_deployment_makes_the_change_unsuccessful(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    async with start_service("governance", **FAST) as client:
        rita, viewer = tokens.headers("rita", "releaser"), tokens.headers("vic", "viewer")
        change_id = await approved_change(client, tokens)
        finished = datetime.now(UTC) - timedelta(hours=1)  # inside the failure history window
        failure = example(
            HealthCheckFailed,
            deployment_id="dep-1",
            service="checkout",
            environment="production",
            severity=Severity.CRITICAL,
            detected_at=finished + timedelta(minutes=5),
        )
        await publish(kafka, Envelope(data=failure), Envelope(data=failure))
        await eventually(lambda: _rows(client, "health_failures", 1))
        deployment = succeeded_deployment("dep-1", change_id, finished)
        await publish(kafka, Envelope(data=deployment), Envelope(data=deployment))

        async def closed() -> dict[str, Any] | None:
            change = (await client.get(f"/changes/{change_id}", headers=viewer)).json()
            return change if change["state"] == "closed" else None

        change = await eventually(closed)
        assert change["close_code"] == "unsuccessful"
        assert change["deployment_id"] == "dep-1"
        await eventually(lambda: _inbox_rows(client, 4))
        assert await count_rows(client, "health_failures") == 1
        assert await count_rows(client, "deployments") == 1
        rates = await client.get("/failure-rates?group_by=team", headers=viewer)
        assert rates.json()["groups"] == [
            {"group": "payments", "numerator": 1, "denominator": 1, "rate": 1.0}
        ]
        async with TopicProbe(kafka, events_topic("governance")) as probe:
            await probe.wait_for(lambda _: bool(_of_type(probe, ChangeClosed, change_id)))
            await probe.poll(0.5)
            [closing] = _of_type(probe, ChangeClosed, change_id)
        assert closing.close_code.value == "unsuccessful"
        again = (await client.post("/changes", json=change_body(), headers=rita)).json()
        risk = (await client.get(f"/changes/{again['id']}/risk", headers=viewer)).json()
        history = next(f for f in risk["factors"] if f["factor"] == "failure_history")
        assert (history["value"], history["contribution"]) == (1.0, 20.0)


async def _rows(client: httpx.AsyncClient, table: str, wanted: int) -> bool:
    return await count_rows(client, table) >= wanted


async def test_blackouts_are_mirrored_and_score_risk(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    freeze = example(
        BlackoutDeclared,
        blackout_id="b-1",
        name="month end",
        starts_at=MONDAY_10 - timedelta(hours=1),
        ends_at=MONDAY_10 + timedelta(hours=8),
        timezone="Europe/London",
        rrule="FREQ=MONTHLY;BYMONTHDAY=2",
        services=["checkout"],
        teams=[],
    )
    gone = example(BlackoutDeclared, blackout_id="b-2", name="old", starts_at=freeze.starts_at,
                   ends_at=freeze.ends_at, rrule=None, services=[], teams=[])  # fmt: skip
    withdrawn = example(BlackoutWithdrawn, blackout_id="b-2")
    async with start_service("governance", **FAST) as client:
        await publish(kafka, Envelope(data=withdrawn), Envelope(data=freeze), Envelope(data=freeze))
        await publish(kafka, Envelope(data=gone))
        await eventually(lambda: _inbox_rows(client, 3))
        rita = tokens.headers("rita", "releaser")
        next_month = MONDAY_10.replace(month=4, day=2)
        created = await client.post(
            "/changes",
            json=change_body(
                planned_start=next_month.isoformat(),
                planned_end=(next_month + timedelta(hours=1)).isoformat(),
            ),
            headers=rita,
        )
        change = (await client.get(f"/changes/{created.json()['id']}", headers=rita)).json()
        assert [(c["kind"], c["id"]) for c in change["conflicts"]] == [("blackout", "b-1")]
        assert change["conflicts"][0]["starts_at"] == "2026-04-02T08:00:00Z"  # 09:00 BST
        risk = (await client.get(f"/changes/{change['id']}/risk", headers=rita)).json()
        blackout = next(f for f in risk["factors"] if f["factor"] == "blackout")
        assert blackout["contribution"] == 10
        assert await count_rows(client, "blackouts") == 2


async def test_a_stabilized_change_is_closed_successful(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    async with start_service("governance", **FAST) as client:
        viewer = tokens.headers("vic", "viewer")
        change_id = await approved_change(client, tokens)
        finished = datetime.now(UTC) - timedelta(hours=2)  # the hour of stabilization is over
        started = example(
            DeploymentStarted,
            deployment_id="dep-9",
            change_id=change_id,
            environment="production",
        )
        await publish(kafka, Envelope(data=started))

        async def state() -> str:
            change = (await client.get(f"/changes/{change_id}", headers=viewer)).json()
            return str(change["state"])

        await eventually(lambda: _is(state, "implement"))
        deployment = succeeded_deployment("dep-9", change_id, finished)
        await publish(kafka, Envelope(data=deployment))
        await eventually(lambda: _is(state, "closed"))
        change = (await client.get(f"/changes/{change_id}", headers=viewer)).json()
        assert change["close_code"] == "successful"
        rates = (await client.get("/failure-rates?group_by=service", headers=viewer)).json()
        assert rates["groups"] == [
            {"group": "checkout", "numerator": 0, "denominator": 1, "rate": 0.0}
        ]
        trail = (await client.get(f"/audit?subject={change_id}", headers=viewer)).json()["items"]
        assert [r["action"] for r in trail][-3:] == [
            "state:implement",
            "state:review",
            "state:closed",
        ]


async def _is(read: Any, wanted: str) -> bool:
    return bool(await read() == wanted)
