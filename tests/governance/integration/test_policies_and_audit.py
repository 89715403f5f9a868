"""Versioned policies, and the audit chain (tamper detection on each database)."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import delete, insert, update

from flightdeck.governance.db.tables import audit_records
from flightdeck.governance.domain.audit import chain
from flightdeck.kit.testing import Tokens, context_of
from tests.governance.integration.support import assert_problem, change_body, count_rows

STRICT = {
    "quorums": {
        "low": {"cab": 2},
        "medium": {"cab": 2},
        "high": {"cab": 3},
        "critical": {"cab": 3, "senior_ops": 1},
        "emergency": {"senior_ops": 1},
    },
    "note": "two approvals even for low risk",
}


async def test_put_creates_a_new_version_and_changes_keep_theirs(
    governance: Any, tokens: Tokens
) -> None:
    admin, rita = tokens.headers("root", "admin"), tokens.headers("rita", "releaser")
    async with governance() as client:
        current = await client.get("/policies", headers=rita)
        assert current.json()["version"] == 1
        assert current.headers["etag"] == '"1"'
        before = (await client.post("/changes", json=change_body(), headers=rita)).json()
        updated = await client.put("/policies", json=STRICT, headers={**admin, "If-Match": '"1"'})
        assert updated.status_code == 200, updated.text
        assert updated.json()["version"] == 2
        assert updated.json()["policy"]["quorums"]["low"] == {"cab": 2}
        stale = await client.put("/policies", json=STRICT, headers={**admin, "If-Match": '"1"'})
        assert_problem(stale, 412)
        assert (await client.get("/policies/1", headers=rita)).json()["policy"]["quorums"][
            "low"
        ] == {"cab": 1}
        after = (await client.post("/changes", json=change_body(), headers=rita)).json()
        assert (before["policy_version"], after["policy_version"]) == (1, 2)
        old = await client.post(
            f"/changes/{before['id']}/approvals",
            json={"decision": "approve"},
            headers=tokens.headers("ann", "cab"),
        )
        assert old.json()["state"] == "scheduled"  # judged by version 1: one approval
        new = await client.post(
            f"/changes/{after['id']}/approvals",
            json={"decision": "approve"},
            headers=tokens.headers("ann", "cab"),
        )
        assert new.json()["state"] == "authorize"
        trail = (await client.get("/audit?subject=policy", headers=rita)).json()["items"]
        assert [(r["action"], r["actor"], r["reason"]) for r in trail] == [
            ("policy-change", "root", STRICT["note"])
        ]


async def test_bad_policies_and_callers_are_refused(governance: Any, tokens: Tokens) -> None:
    admin = tokens.headers("root", "admin")
    async with governance() as client:
        body = assert_problem(
            await client.put("/policies", json={"weights": {"impact": 90}}, headers=admin), 422
        )
        assert "add up to 100" in body["detail"]
        unreachable = {"quorums": {"low": {"cab": 1_000_000_000}}}
        body = assert_problem(await client.put("/policies", json=unreachable, headers=admin), 422)
        assert body["errors"][0]["location"] == "body.quorums.low"
        assert_problem(
            await client.put("/policies", json=STRICT, headers=tokens.headers("ann", "cab")), 403
        )
        assert_problem(await client.get("/policies/9", headers=admin), 404)
        assert await count_rows(client, "policies") == 1
        assert await count_rows(client, "audit_records") == 0


async def _changes_with_history(client: httpx.AsyncClient, tokens: Tokens) -> str:
    rita = tokens.headers("rita", "releaser")
    change_id: str = (await client.post("/changes", json=change_body(), headers=rita)).json()["id"]
    await client.post(
        f"/changes/{change_id}/approvals",
        json={"decision": "approve", "comment": "ok"},
        headers=tokens.headers("ann", "cab"),
    )
    await client.post("/changes", json=change_body(), headers=rita)
    return change_id


async def test_audit_lists_decisions_of_a_change(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        change_id = await _changes_with_history(client, tokens)
        viewer = tokens.headers("vic", "viewer")
        trail = (await client.get(f"/audit?subject={change_id}", headers=viewer)).json()["items"]
        assert [r["action"] for r in trail] == [
            "created",
            "state:assess",
            "state:authorize",
            "approval",
            "state:scheduled",
        ]
        approval = trail[3]
        assert (approval["actor"], approval["reason"], approval["evidence"]["role"]) == (
            "ann",
            "ok",
            "cab",
        )
        assert all(b["previous_hash"] == a["hash"] for a, b in itertools.pairwise(trail))
        page = (await client.get("/audit?limit=2", headers=viewer)).json()
        assert len(page["items"]) == 2
        assert page["next_cursor"]


async def test_verify_finds_an_edited_record(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        await _changes_with_history(client, tokens)
        viewer = tokens.headers("vic", "viewer")
        intact = (await client.get("/audit/verify", headers=viewer)).json()
        assert intact == {"ok": True, "checked": 8, "first_broken": None}
        async with context_of(client.app).engine.begin() as conn:
            await conn.execute(
                update(audit_records).where(audit_records.c.seq == 4).values(actor="mallory")
            )
        broken = (await client.get("/audit/verify", headers=viewer)).json()
        assert broken["ok"] is False
        assert broken["first_broken"]["seq"] == 4
        assert "edited" in broken["first_broken"]["problem"]


async def test_verify_finds_deleted_records(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        await _changes_with_history(client, tokens)
        viewer = tokens.headers("vic", "viewer")
        engine = context_of(client.app).engine
        async with engine.begin() as conn:
            await conn.execute(delete(audit_records).where(audit_records.c.seq == 8))
        tail = (await client.get("/audit/verify", headers=viewer)).json()
        assert tail["first_broken"]["seq"] == 8
        async with engine.begin() as conn:
            await conn.execute(delete(audit_records).where(audit_records.c.seq == 2))
        middle = (await client.get("/audit/verify", headers=viewer)).json()
        assert middle["first_broken"] == {"seq": 2, "problem": "record 2 is missing"}


async def test_verify_finds_a_record_inserted_after_the_head(
    governance: Any, tokens: Tokens
) -> None:
    async with governance() as client:
        await _changes_with_history(client, tokens)
        viewer = tokens.headers("vic", "viewer")
        trail = (await client.get("/audit?limit=500", headers=viewer)).json()["items"]
        last = trail[-1]
        at = datetime.fromisoformat(last["at"])
        [forged] = chain(last["seq"], last["hash"], [("x", "approval", "mallory", at, "", {})])
        async with context_of(client.app).engine.begin() as conn:
            await conn.execute(insert(audit_records).values(**asdict(forged)))
        verdict = (await client.get("/audit/verify", headers=viewer)).json()
        assert verdict["ok"] is False
        assert verdict["first_broken"]["seq"] == last["seq"] + 1


async def test_concurrent_decisions_never_fork_the_chain(governance: Any, tokens: Tokens) -> None:
    import asyncio

    rita, viewer = tokens.headers("rita", "releaser"), tokens.headers("vic", "viewer")
    async with governance() as client:
        created = await asyncio.gather(
            *(client.post("/changes", json=change_body(), headers=rita) for _ in range(12))
        )
        assert [r.status_code for r in created] == [201] * 12
        verdict = (await client.get("/audit/verify", headers=viewer)).json()
        assert verdict == {"ok": True, "checked": 36, "first_broken": None}
        trail = (await client.get("/audit?limit=500", headers=viewer)).json()["items"]
        assert [r["seq"] for r in trail] == list(range(1, 37))
