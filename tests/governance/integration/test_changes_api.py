"""Change requests through HTTP: creation, classification, bad input, conflicts, ITSM."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from flightdeck.kit.pagination import encode_cursor
from flightdeck.kit.testing import Tokens
from tests.governance.integration.support import (
    MONDAY_10,
    assert_problem,
    change_body,
    count_rows,
)


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"urgency": "asap"}, "body.urgency"),
        ({"impact": "huge"}, "body.impact"),
        ({"complexity": "none"}, "body.complexity"),
        ({"planned_start": "2026-03-02T10:00:00"}, "body.planned_start"),
        ({"planned_end": MONDAY_10.isoformat()}, "body"),
        ({"services": []}, "body.services"),
        ({"schema_changes": "maybe"}, "body.schema_changes"),
        ({"colour": "blue"}, "body.colour"),
        ({"planned_start": "0001-01-01T00:00:00+01:00"}, "body.planned_start"),
        ({"planned_end": "9999-12-31T23:59:59-05:00"}, "body.planned_end"),
        (
            {"planned_start": "0001-01-01T00:00:00Z", "planned_end": "0001-01-01T01:00:00Z"},
            "body.planned_start",
        ),
        ({"planned_end": (MONDAY_10 + timedelta(days=400)).isoformat()}, "body"),
        ({"environment": "e" * 101}, "body.environment"),
        ({"services": ["s" * 201]}, "body.services.0"),
    ],
)
async def test_bad_input_is_422_and_nothing_is_stored(
    governance: Any, tokens: Tokens, overrides: dict[str, Any], location: str
) -> None:
    async with governance() as client:
        response = await client.post(
            "/changes", json=change_body(**overrides), headers=tokens.headers("rita", "releaser")
        )
        body = assert_problem(response, 422)
        assert location in [error["location"] for error in body["errors"]]
        assert await count_rows(client, "changes") == 0
        assert await count_rows(client, "outbox") == 0
        assert await count_rows(client, "audit_records") == 0


async def test_an_unknown_template_is_422(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        response = await client.post(
            "/changes",
            json=change_body(template_id="no-such-template"),
            headers=tokens.headers("rita", "releaser"),
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["location"] == "body.template_id"
        assert await count_rows(client, "changes") == 0


async def test_requesting_needs_a_requesting_role(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        response = await client.post(
            "/changes", json=change_body(), headers=tokens.headers("vic", "viewer")
        )
        assert_problem(response, 403)
        assert await count_rows(client, "changes") == 0


async def test_standard_emergency_and_normal_classification(
    governance: Any, tokens: Tokens
) -> None:
    rita = tokens.headers("rita", "releaser")
    async with governance() as client:
        template = await client.post(
            "/templates",
            json={"name": "cert rotation", "services": ["checkout"], "environment": "production"},
            headers=tokens.headers("carla", "cab"),
        )
        assert template.status_code == 201, template.text
        standard = await client.post(
            "/changes", json=change_body(template_id=template.json()["id"]), headers=rita
        )
        assert standard.json()["classification"] == "standard"
        assert standard.json()["state"] == "scheduled"
        assert standard.json()["approvals"][0]["approver"] == "policy:v1"
        too_big = await client.post(
            "/changes",
            json=change_body(template_id=template.json()["id"], impact="high"),
            headers=rita,
        )
        assert too_big.json()["classification"] == "normal"
        emergency = await client.post(
            "/changes", json=change_body(urgency="critical"), headers=rita
        )
        assert emergency.json()["classification"] == "emergency"
        assert emergency.json()["state"] == "authorize"
        assert (await client.get("/changes?classification=emergency", headers=rita)).json()[
            "items"
        ][0]["id"] == emergency.json()["id"]


async def test_risk_is_explained_and_night_work_costs_points(
    governance: Any, tokens: Tokens
) -> None:
    rita = tokens.headers("rita", "releaser")
    night = MONDAY_10 + timedelta(hours=12)
    async with governance() as client:
        created = await client.post(
            "/changes",
            json=change_body(
                impact="high",
                schema_changes=True,
                planned_start=night.isoformat(),
                planned_end=(night + timedelta(hours=1)).isoformat(),
            ),
            headers=rita,
        )
        risk = (await client.get(f"/changes/{created.json()['id']}/risk", headers=rita)).json()
        factors = {f["factor"]: f for f in risk["factors"]}
        assert factors["impact"]["contribution"] == 20
        assert factors["schema_changes"]["contribution"] == 15
        assert factors["off_hours"]["contribution"] == 10
        assert risk["score"] == sum(f["contribution"] for f in risk["factors"]) == 45
        assert risk["level"] == "medium"
        assert risk["policy_version"] == 1


async def test_conflicts_on_service_and_environment(governance: Any, tokens: Tokens) -> None:
    rita = tokens.headers("rita", "releaser")
    async with governance() as client:
        first = (await client.post("/changes", json=change_body(), headers=rita)).json()
        later = MONDAY_10 + timedelta(minutes=30)
        second = (
            await client.post(
                "/changes",
                json=change_body(
                    environment="staging",
                    planned_start=later.isoformat(),
                    planned_end=(later + timedelta(hours=1)).isoformat(),
                ),
                headers=rita,
            )
        ).json()
        elsewhere = (
            await client.post(
                "/changes",
                json=change_body(services=["search"], environment="staging"),
                headers=rita,
            )
        ).json()
        shown = (await client.get(f"/changes/{first['id']}", headers=rita)).json()
        assert [(c["id"], c["reason"]) for c in shown["conflicts"]] == [
            (second["id"], "same service checkout")
        ]
        window = {
            "start": MONDAY_10.isoformat(),
            "end": (MONDAY_10 + timedelta(hours=3)).isoformat(),
        }
        report = (await client.get("/changes/conflicts", params=window, headers=rita)).json()
        assert {c["id"] for c in report["items"]} == {first["id"], second["id"], elsewhere["id"]}
        staging = (
            await client.get(
                "/changes/conflicts", params={**window, "environment": "staging"}, headers=rita
            )
        ).json()
        reasons = {c["id"]: [x["reason"] for x in c["conflicts"]] for c in staging["items"]}
        assert reasons[elsewhere["id"]] == ["same environment staging"]
        bad = await client.get(
            "/changes/conflicts",
            params={"start": window["end"], "end": window["start"]},
            headers=rita,
        )
        assert_problem(bad, 422)


async def test_itsm_representation_and_cancel(governance: Any, tokens: Tokens) -> None:
    rita = tokens.headers("rita", "releaser")
    async with governance() as client:
        created = await client.post("/changes", json=change_body(), headers=rita)
        change_id = created.json()["id"]
        record = (await client.get(f"/changes/{change_id}/itsm", headers=rita)).json()["result"]
        assert record["number"] == "CHG0000001"
        assert (record["state"], record["approval"], record["risk"]) == (
            "Authorize",
            "requested",
            "Low",
        )
        stale = await client.post(
            f"/changes/{change_id}/cancel",
            json={"reason": "not needed"},
            headers={**rita, "If-Match": '"7"'},
        )
        assert_problem(stale, 412)
        cancelled = await client.post(
            f"/changes/{change_id}/cancel",
            json={"reason": "not needed"},
            headers={**rita, "If-Match": created.headers["etag"]},
        )
        assert cancelled.json()["state"] == "cancelled"
        record = (await client.get(f"/changes/{change_id}/itsm", headers=rita)).json()["result"]
        assert (record["state"], record["approval"]) == ("Canceled", "not requested")
        again = await client.post(
            f"/changes/{change_id}/cancel", json={"reason": "twice"}, headers=rita
        )
        assert_problem(again, 409)


async def test_list_is_paginated(governance: Any, tokens: Tokens) -> None:
    rita = tokens.headers("rita", "releaser")
    async with governance() as client:
        for _ in range(3):
            await client.post("/changes", json=change_body(), headers=rita)
        first = (await client.get("/changes?limit=2", headers=rita)).json()
        assert [c["number"] for c in first["items"]] == ["CHG0000001", "CHG0000002"]
        rest = (
            await client.get(f"/changes?limit=2&cursor={first['next_cursor']}", headers=rita)
        ).json()
        assert [c["number"] for c in rest["items"]] == ["CHG0000003"]
        assert rest["next_cursor"] is None
        assert_problem(await client.get("/changes?cursor=garbage", headers=rita), 422)
        huge = encode_cursor(3_000_000_000)  # beyond the change numbers' column
        assert_problem(await client.get(f"/changes?cursor={huge}", headers=rita), 422)
        assert_problem(await client.get(f"/reviews/overdue?cursor={huge}", headers=rita), 422)
        window = "start=2026-03-01T00:00:00Z&end=2026-03-03T00:00:00Z"
        huge = encode_cursor(MONDAY_10, 3_000_000_000)
        conflicts = await client.get(f"/changes/conflicts?{window}&cursor={huge}", headers=rita)
        assert_problem(conflicts, 422)
        assert_problem(await client.get("/changes?state=sleeping", headers=rita), 422)
        assert_problem(await client.get("/changes/nope", headers=rita), 404)


async def test_a_release_gets_one_change(governance: Any, tokens: Tokens) -> None:
    rita = tokens.headers("rita", "releaser")
    async with governance() as client:
        first = await client.post("/changes", json=change_body(release_id="rel-1"), headers=rita)
        assert first.status_code == 201
        second = await client.post("/changes", json=change_body(release_id="rel-1"), headers=rita)
        assert first.json()["id"] in assert_problem(second, 409)["detail"]
        assert await count_rows(client, "changes") == 1


async def test_concurrent_requests_for_one_release_make_one_change(
    governance: Any, tokens: Tokens
) -> None:
    rita = tokens.headers("rita", "releaser")
    async with governance() as client:
        answers = await asyncio.gather(
            *(
                client.post("/changes", json=change_body(release_id="rel-2"), headers=rita)
                for _ in range(6)
            )
        )
        assert sorted(r.status_code for r in answers) == [201] + [409] * 5
        assert await count_rows(client, "changes") == 1
        assert await count_rows(client, "outbox") == 1  # one ChangeRequested


async def test_high_risk_is_escalated_and_audited(governance: Any, tokens: Tokens) -> None:
    from sqlalchemy import select

    from flightdeck.events.tables import outbox

    rita = tokens.headers("rita", "releaser")
    risky = change_body(impact="high", complexity="high", schema_changes=True)
    async with governance() as client:
        created = (await client.post("/changes", json=risky, headers=rita)).json()
        assert created["risk_level"] == "high"
        assert created["oversight_required"] is True
        trail = (await client.get(f"/audit?subject={created['id']}", headers=rita)).json()
        [escalation] = [r for r in trail["items"] if r["action"] == "escalation"]
        assert escalation["evidence"] == {"to_role": "senior_ops"}
        engine = client.app.state.context.engine  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            topics = (await conn.execute(select(outbox.c.headers))).scalars().all()
        types = sorted(dict(h)["ce_type"] for h in topics) if topics else []
        assert types == ["flightdeck.change.escalated.v1", "flightdeck.change.requested.v1"]


async def test_failure_rates_refuse_bad_questions(governance: Any, tokens: Tokens) -> None:
    viewer = tokens.headers("vic", "viewer")
    async with governance() as client:
        assert_problem(await client.get("/failure-rates?group_by=colour", headers=viewer), 422)
        backwards = {
            "group_by": "service",
            "from": "2026-03-02T00:00:00Z",
            "to": "2026-03-01T00:00:00Z",
        }
        assert_problem(await client.get("/failure-rates", params=backwards, headers=viewer), 422)
        naive = {"group_by": "service", "from": "2026-03-02T00:00:00"}
        assert_problem(await client.get("/failure-rates", params=naive, headers=viewer), 422)
        empty = await client.get("/failure-rates?group_by=service", headers=viewer)
        assert empty.json()["groups"] == []


async def test_out_of_range_query_times_are_422(governance: Any, tokens: Tokens) -> None:
    viewer = tokens.headers("vic", "viewer")
    questions = {
        "/changes/conflicts?start=0001-01-01T00:00:00%2B01:00&end=2026-03-03T00:00:00Z": (
            "query.start"
        ),
        "/changes/conflicts?start=2026-03-01T00:00:00Z&end=2029-03-01T00:00:00Z": "query.end",
        "/failure-rates?group_by=team&to=0001-01-01T00:00:00Z": "query.to",
        "/failure-rates?group_by=team&from=9999-12-31T23:59:59-05:00": "query.from",
        "/policies/99999999999999999999": "path.version",
    }
    async with governance() as client:
        for url, location in questions.items():
            body = assert_problem(await client.get(url, headers=viewer), 422)
            assert location in [error["location"] for error in body["errors"]], url


async def test_concurrent_templates_of_one_name_make_one(governance: Any, tokens: Tokens) -> None:
    carla = tokens.headers("carla", "cab")
    body = {"name": "cert rotation", "services": ["checkout"]}
    async with governance() as client:
        answers = await asyncio.gather(
            *(client.post("/templates", json=body, headers=carla) for _ in range(6))
        )
        assert sorted(r.status_code for r in answers) == [201] + [409] * 5
        assert await count_rows(client, "templates") == 1
        assert await count_rows(client, "audit_records") == 1


async def test_nul_characters_are_422_wherever_they_come(governance: Any, tokens: Tokens) -> None:
    rita, root = tokens.headers("rita", "releaser"), tokens.headers("root", "admin")
    async with governance() as client:
        body = assert_problem(
            await client.post("/changes", json=change_body(services=["a\x00b"]), headers=rita),
            422,
        )
        assert [e["location"] for e in body["errors"]] == ["body.services.0"]
        policy = await client.put("/policies", json={"note": "a\x00b"}, headers=root)
        assert assert_problem(policy, 422)["errors"][0]["location"] == "body.note"
        for url in ("/changes?service=a%00b", "/audit?subject=a%00b", "/changes/a%00b/risk"):
            found = assert_problem(await client.get(url, headers=rita), 422)
            assert found["errors"][0]["location"] in {"query.service", "query.subject", "path"}
        assert await count_rows(client, "changes") == 0
        assert await count_rows(client, "policies") == 1
