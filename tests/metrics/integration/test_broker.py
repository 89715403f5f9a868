"""The metrics service consuming through the real broker: every producer's topic, batches,
duplicates, and records whose data fails their model going to the dead-letter topic."""

from __future__ import annotations

from typing import Any

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.deadletters import read_dead_letters
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import eventually, publish, publish_raw
from flightdeck.events.topics import events_topic
from flightdeck.kit.testing import Tokens, context_of
from tests.metrics import scenario
from tests.metrics.integration.test_dora_scenario import EVERYONE, approx, blocks


async def test_scenario_through_the_broker(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    events = scenario.events()
    viewer = tokens.headers("ana", "viewer")
    async with start_service("metrics") as client:
        runner = context_of(client.app).runner
        assert runner is not None
        bad = [
            ("ce_specversion", b"1.0"),
            ("ce_id", b"broken-1"),
            ("ce_source", b"/flightdeck/executor"),
            ("ce_time", b"2026-01-06T00:00:00Z"),
            ("ce_type", DeploymentFinished.ce_type.encode()),
        ]
        await publish_raw(kafka, events_topic("executor"), b'{"deployment_id": "X"}', bad)
        await publish(kafka, *events)
        await publish(kafka, *events[:10])  # redelivered: no second effect

        async def caught_up() -> bool:
            status = (await client.get("/projections/status", headers=viewer)).json()
            return bool(status["events"] == len({e.id for e in events}))

        await eventually(caught_up, timeout=60)
        response = await client.get("/dora", params=scenario.WINDOW, headers=viewer)
        assert blocks(response.json()) == approx(EVERYONE)
        letters = await eventually(lambda: read_dead_letters(kafka, "metrics"))
        assert [letter.event_id for letter in letters] == ["broken-1"]
        assert "does not match DeploymentFinished" in letters[0].error
        logged = await client.get(
            "/events", params={"type": DeploymentFinished.ce_type}, headers=viewer
        )
        assert "broken-1" not in {item["id"] for item in logged.json()["items"]}
        deployments = await client.get("/dora/deployments", params=scenario.WINDOW, headers=viewer)
        assert "X" not in {item["deployment_id"] for item in deployments.json()["items"]}
        status = (await client.get("/projections/status", headers=viewer)).json()
        assert status["consumer_running"] is True
        assert all(lag >= 0 for lag in status["consumer_lag"].values())


async def test_events_of_unknown_types_are_logged_as_received(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    """A newer producer's type is kept in the log (no projection); one whose data is not a
    JSON object goes to the dead-letter topic."""
    viewer = tokens.headers("ana", "viewer")

    def headers(ce_id: str) -> list[tuple[str, bytes]]:
        return [
            ("ce_specversion", b"1.0"),
            ("ce_id", ce_id.encode()),
            ("ce_source", b"/acme/deployer"),
            ("ce_time", b"2026-01-06T10:00:00Z"),
            ("ce_type", b"com.acme.deployment.paused.v2"),
            ("ce_subject", b"dep-9"),
        ]

    async with start_service("metrics") as client:
        topic = events_topic("executor")
        await publish_raw(
            kafka, topic, b'{"reason": "freeze", "by": {"team": "ops"}}', headers("u1")
        )
        await publish_raw(kafka, topic, b'"not an object"', headers("u2"))

        async def logged() -> list[dict[str, Any]]:
            params = {"type": "com.acme.deployment.paused.v2"}
            items: list[dict[str, Any]] = (
                await client.get("/events", params=params, headers=viewer)
            ).json()["items"]
            return items

        items = await eventually(logged, timeout=60)
        assert [(item["id"], item["subject"], item["data"]) for item in items] == [
            ("u1", "dep-9", {"reason": "freeze", "by": {"team": "ops"}})
        ]
        letters = await eventually(lambda: read_dead_letters(kafka, "metrics"))
        assert [letter.event_id for letter in letters] == ["u2"]
