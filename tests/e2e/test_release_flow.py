"""A release across services, through the real broker: planning freezes its scope, governance
opens and approves the change, a production deployment (as the executor would publish it)
releases it, and the metrics service counts it in DORA and in the release's value stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from flightdeck.events.catalogue.executor import DeploymentFinished
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import eventually, publish
from flightdeck.kit.testing import Tokens

# A Tuesday morning in London: inside the default policy's business hours, outside any blackout.
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
AUTHORED = START - timedelta(days=2)
FINISHED = START + timedelta(minutes=30)
CAB = ("carol", "chen", "cyrus")


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _scope_release(planning: httpx.AsyncClient, tokens: Tokens) -> str:
    releaser = tokens.headers("rita", "releaser")
    release = await _ok(
        await planning.post(
            "/releases",
            headers=releaser,
            json={
                "name": "Spring checkout",
                "version": "2.4.0",
                "services": ["checkout"],
                "team": "payments",
                "target_environment": "production",
                "planned_start": START.isoformat(),
                "planned_end": (START + timedelta(hours=2)).isoformat(),
                "owner": "rita",
            },
        ),
        201,
    )
    release_id: str = release["id"]
    await _ok(
        await planning.post(
            f"/releases/{release_id}/items",
            headers=releaser,
            json={
                "kind": "feature",
                "title": "One-page checkout",
                "priority": 2,
                "commits": [
                    {
                        "repo": "shop/checkout",
                        "sha": "a1b2c3d4",
                        "authored_at": AUTHORED.isoformat(),
                    }
                ],
            },
        ),
        201,
    )
    criteria = [
        {"metric": "error_rate", "comparator": "gt", "threshold": 0.02, "window_seconds": 300}
    ]
    await _ok(
        await planning.put(
            f"/releases/{release_id}/rollback-criteria", headers=releaser, json=criteria
        )
    )
    for function in ("dev", "qa", "ops"):
        await _ok(
            await planning.post(
                f"/releases/{release_id}/signoffs",
                headers=tokens.headers(f"{function}-lead", "approver"),
                json={"function": function, "decision": "approve"},
            ),
            201,
        )
    scoped = await _ok(await planning.post(f"/releases/{release_id}/scope", headers=releaser))
    assert scoped["state"] == "scoped"
    return release_id


async def _approve_change(
    governance: httpx.AsyncClient, tokens: Tokens, release_id: str
) -> dict[str, Any]:
    viewer = tokens.headers("vic", "viewer")

    async def opened() -> list[dict[str, Any]]:
        page = await _ok(
            await governance.get("/changes", params={"release_id": release_id}, headers=viewer)
        )
        return list(page["items"])

    [change] = await eventually(opened, timeout=30, message="no change for the scoped release")
    assert change["requested_by"] == "rita"
    assert change["classification"] == "normal"
    # The quorum grows with risk: approve with distinct CAB members until the change is approved.
    approvers = [tokens.headers(name, "cab") for name in CAB]
    if change["risk_level"] == "critical":
        approvers.append(tokens.headers("sam", "senior_ops"))
    for headers in approvers:
        await _ok(
            await governance.post(
                f"/changes/{change['id']}/approvals",
                headers=headers,
                json={"decision": "approve", "comment": "looks safe"},
            ),
            201,
        )
        change = await _ok(await governance.get(f"/changes/{change['id']}", headers=viewer))
        if change["approved_at"] is not None:
            break
    assert change["approved_at"] is not None, change
    return change


async def test_a_release_from_planning_to_dora(
    start_service: Any, kafka: KafkaSettings, tokens: Tokens
) -> None:
    viewer = tokens.headers("vic", "viewer")
    async with (
        start_service("planning") as planning,
        start_service("governance") as governance,
        start_service("metrics") as metrics,
    ):
        release_id = await _scope_release(planning, tokens)
        change = await _approve_change(governance, tokens, release_id)

        deployment = DeploymentFinished.model_validate(
            {
                "deployment_id": "dep-1",
                "release_id": release_id,
                "change_id": change["id"],
                "service": "checkout",
                "team": "payments",
                "version": "2.4.0",
                "environment": "production",
                "environment_tier": "production",
                "strategy": "canary",
                "outcome": "succeeded",
                "is_rollback": False,
                "is_unplanned": False,
                "commits": [{"repo": "shop/checkout", "sha": "a1b2c3d4", "authored_at": AUTHORED}],
                "started_at": START,
                "finished_at": FINISHED,
                "source": "flightdeck",
            }
        )
        envelope = Envelope(data=deployment, time=FINISHED)
        await publish(kafka, envelope, envelope)  # delivered twice

        async def released() -> bool:
            body = await _ok(await planning.get(f"/releases/{release_id}", headers=viewer))
            return bool(body["state"] == "released")

        await eventually(released, timeout=30, message="the release never became released")

        async def in_review() -> bool:
            body = await _ok(await governance.get(f"/changes/{change['id']}", headers=viewer))
            return body["state"] in {"review", "closed"}

        await eventually(in_review, timeout=30, message="the change never left implementation")

        window = {
            "from": (START - timedelta(days=1)).isoformat(),
            "to": (START + timedelta(days=1)).isoformat(),
        }

        async def counted() -> dict[str, Any] | None:
            body = await _ok(
                await metrics.get("/dora", params={**window, "service": "checkout"}, headers=viewer)
            )
            return body if body["deployment_frequency"]["count"] else None

        dora = await eventually(counted, timeout=30, message="metrics never counted the deployment")
        assert dora["deployment_frequency"]["count"] == 1
        assert dora["lead_time"]["n"] == 1
        lead = (FINISHED - AUTHORED).total_seconds()
        assert dora["lead_time"]["p50_seconds"] == lead
        assert dora["change_failure_rate"] == {
            "numerator": 0,
            "denominator": 1,
            "value": 0.0,
            "tier": dora["change_failure_rate"]["tier"],
        }

        async def streamed() -> dict[str, Any] | None:
            response = await metrics.get(
                "/value-stream", params={"release_id": release_id}, headers=viewer
            )
            if response.status_code != 200:
                return None
            body: dict[str, Any] = response.json()
            reached = body["milestones"]
            wanted = ("planned", "scoped", "change_approved", "deployment_finished")
            return body if all(reached[name] for name in wanted) else None

        stream = await eventually(streamed, timeout=30, message="the value stream is incomplete")
        assert stream["team"] == "payments"
        milestones = stream["milestones"]
        assert milestones["planned"] <= milestones["scoped"] <= milestones["change_approved"]

        # Every service's events reached the shared log, correlated by the release.
        logged = await _ok(
            await metrics.get(
                "/events", params={"correlation_id": release_id, "limit": 100}, headers=viewer
            )
        )
        types = {item["type"] for item in logged["items"]}
        assert {
            "flightdeck.release.planned.v1",
            "flightdeck.release.scoped.v1",
            "flightdeck.change.requested.v1",
            "flightdeck.change.approved.v1",
        } <= types
