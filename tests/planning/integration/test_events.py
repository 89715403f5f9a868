"""Planning against the real broker: ReleaseScoped as published, and consumed
DeploymentFinished and ChangeRejected applied once however often they arrive."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.catalogue.governance import ChangeRejected
from flightdeck.events.catalogue.planning import ReleaseScoped
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import TopicProbe, eventually, example, publish
from flightdeck.events.topics import events_topic
from flightdeck.kit.testing import Tokens
from flightdeck.planning.db import tables
from tests.planning.integration.support import (
    COMMIT,
    CRITERIA,
    TOGGLE,
    Planning,
    count,
)


async def scoped_release(api: Planning) -> str:
    """A release with two items, frozen."""
    rid = str((await api.plan())["id"])
    await api.item(rid, id=f"B-{rid[:8]}", title="Base", commits=[COMMIT])
    await api.item(
        rid,
        id=f"T-{rid[:8]}",
        title="Toggle",
        regulatory=True,
        depends_on=[f"B-{rid[:8]}"],
        feature_toggle=TOGGLE["key"],
    )
    await api.ready(rid, functions=("dev", "qa", "ops", "security"))
    response = await api.scope(rid)
    assert response.status_code == 200, response.text
    return rid


async def test_release_scoped_reaches_the_broker_with_every_field(
    start_service: Any, tokens: Tokens, kafka: KafkaSettings
) -> None:
    async with start_service("planning", consumer_enabled=False) as client:
        api = Planning(client, tokens)
        rid = await scoped_release(api)
        async with TopicProbe(kafka, events_topic("planning")) as probe:

            def scoped() -> list[Envelope[Any]]:
                return [e for e in probe.envelopes() if isinstance(e.data, ReleaseScoped)]

            await probe.wait_for(lambda _records: bool(scoped()), timeout=20)
        [envelope] = scoped()
        event = envelope.data
        assert isinstance(event, ReleaseScoped)
        assert envelope.subject == rid
        assert envelope.correlation_id == rid
        assert (event.release_id, event.version, event.name, event.owner) == (
            rid,
            "2.4.0",
            "Spring checkout",
            "olga",
        )
        assert event.services == ["checkout", "payments"]
        assert (event.team, event.target_environment) == ("payments", "production")
        assert event.planned_start == datetime(2026, 4, 14, 6, tzinfo=UTC)
        assert event.planned_end == datetime(2026, 4, 14, 10, tzinfo=UTC)
        base, toggled = event.items
        assert (base.title, base.commits[0].sha, base.commits[0].repo) == (
            "Base",
            COMMIT["sha"],
            COMMIT["repo"],
        )
        assert toggled.depends_on == [base.item_id]
        assert (toggled.regulatory, toggled.feature_toggle) == (True, TOGGLE["key"])
        assert [(c.metric, c.comparator.value) for c in event.rollback_criteria] == [
            (c["metric"], c["comparator"]) for c in CRITERIA
        ]
        assert [(t.key, t.owner, str(t.remove_by)) for t in event.feature_toggles] == [
            (TOGGLE["key"], TOGGLE["owner"], TOGGLE["remove_by"])
        ]
        assert sorted(s.function.value for s in event.signoffs) == ["dev", "ops", "qa", "security"]
        assert event.scoped_at is not None


def _deployment(rid: str, service: str, **fields: Any) -> Envelope[DeploymentFinished]:
    values = {
        "deployment_id": f"dep-{service}-{uuid.uuid4().hex[:6]}",
        "release_id": rid,
        "service": service,
        "environment_tier": "production",
        "outcome": "succeeded",
        "is_rollback": False,
        **fields,
    }
    data = example(DeploymentFinished, **values)
    return Envelope(data=data, subject=rid)  # one key: the deliveries stay in order


async def test_deployment_finished_twice_counts_once_and_releases(
    start_service: Any, tokens: Tokens, kafka: KafkaSettings
) -> None:
    async with start_service("planning") as client:
        api = Planning(client, tokens)
        rid = await scoped_release(api)
        version = (await api.get(rid))["resource_version"]
        checkout = _deployment(rid, "checkout")
        replayed = Envelope(data=checkout.data, subject=rid)  # same fact, another ce_id
        staging = _deployment(rid, "payments", environment_tier="staging")
        ghost = _deployment("never-planned", "checkout")
        alien = _deployment("x" * 100, "checkout")  # longer than any release id of ours
        await publish(kafka, alien, ghost, checkout, checkout, replayed, staging)
        await eventually(
            lambda: _state(api, rid, "in_progress"), timeout=30, message="first deployment"
        )
        await publish(kafka, _deployment(rid, "payments"))
        release = await eventually(lambda: _state(api, rid, "released"), timeout=30)
        assert [d["service"] for d in release["deployments"]] == ["checkout", "payments"]
        assert release["resource_version"] == version + 2  # one change per counted service
        assert await count(client, tables.deployments) == 3  # the ghost's is kept for later
        dead = await client.get("/admin/dlq", headers=tokens.headers("opal", "operator"))
        assert dead.json() == []  # the alien one was left out, not failed until dead-lettered


async def test_change_rejected_twice_flags_once(
    start_service: Any, tokens: Tokens, kafka: KafkaSettings
) -> None:
    async with start_service("planning") as client:
        api = Planning(client, tokens)
        rid = (await api.plan())["id"]

        def rejected(change_id: str, reason: str = "risk") -> Envelope[ChangeRejected]:
            data = example(ChangeRejected, change_id=change_id, release_id=rid, reason=reason)
            return Envelope(data=data, subject=rid)

        first = rejected("chg-1")
        nul = rejected("chg-3", "risk\x00 too high")  # PostgreSQL cannot store NUL in text
        await publish(kafka, first, first, rejected("chg-1"), rejected("chg-2"), nul)

        async def all_three() -> dict[str, Any] | None:
            release = await api.get(rid)
            return release if len(release["change_rejections"]) == 3 else None

        release = await eventually(all_three, timeout=30, message="the rejections applied")
        assert release["flags"] == ["change_rejected"]
        reasons = {r["change_id"]: r["reason"] for r in release["change_rejections"]}
        assert reasons == {"chg-1": "risk", "chg-2": "risk", "chg-3": "risk too high"}
        assert release["resource_version"] == 4
        assert await count(client, tables.change_rejections) == 3


async def _state(api: Planning, rid: str, state: str) -> dict[str, Any] | None:
    release = await api.get(rid)
    return release if release["state"] == state else None
