"""Approval quorum and segregation of duties through the API, with several tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from flightdeck.kit.testing import Tokens
from tests.governance.integration.support import assert_problem, change_body, count_rows

SIX_DAYS = timedelta(days=6)
MEDIUM_RISK = {"impact": "high", "complexity": "medium"}  # 27.5 points: two CAB approvals


async def _decide(
    client: httpx.AsyncClient,
    tokens: Tokens,
    change_id: str,
    who: str,
    *roles: str,
    decision: str = "approve",
) -> httpx.Response:
    return await client.post(
        f"/changes/{change_id}/approvals",
        json={"decision": decision, "comment": f"{who} says {decision}"},
        headers=tokens.headers(who, *roles),
    )


async def _open(client: httpx.AsyncClient, tokens: Tokens, **overrides: Any) -> str:
    response = await client.post(
        "/changes", json=change_body(**overrides), headers=tokens.headers("rita", "releaser", "cab")
    )
    assert response.status_code == 201, response.text
    change_id: str = response.json()["id"]
    return change_id


async def test_quorum_of_two_distinct_cab_members(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        change_id = await _open(client, tokens, **MEDIUM_RISK)
        first = await _decide(client, tokens, change_id, "ann", "cab")
        assert first.json()["state"] == "authorize"
        repeat = await _decide(client, tokens, change_id, "ann", "cab")
        assert "counts once" in assert_problem(repeat, 409)["detail"]
        second = await _decide(client, tokens, change_id, "bob", "cab")
        assert second.json()["state"] == "scheduled"
        assert [a["approver"] for a in second.json()["approvals"]] == ["ann", "bob"]
        closed = await _decide(client, tokens, change_id, "cyd", "cab")
        assert_problem(closed, 409)
        assert await count_rows(client, "approvals") == 2


async def test_requester_cannot_approve_their_own_change(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        change_id = await _open(client, tokens)
        refused = await _decide(client, tokens, change_id, "rita", "releaser", "cab")
        body = assert_problem(refused, 403)
        assert "segregation of duties" in body["detail"]
        assert "rita requested" in body["detail"]
        assert await count_rows(client, "approvals") == 0


async def test_approving_needs_the_role_the_change_asks_for(
    governance: Any, tokens: Tokens
) -> None:
    async with governance() as client:
        change_id = await _open(client, tokens, urgency="critical")
        releaser = await _decide(client, tokens, change_id, "ray", "releaser")
        assert "cab or senior_ops or approver role" in assert_problem(releaser, 403)["detail"]
        cab_only = await _decide(client, tokens, change_id, "ann", "cab")
        assert "senior_ops" in assert_problem(cab_only, 403)["detail"]
        assert await count_rows(client, "approvals") == 0
        approved = await _decide(client, tokens, change_id, "sam", "senior_ops")
        assert approved.json()["state"] == "scheduled"
        assert approved.json()["review_due_at"] is not None


async def test_a_rejection_ends_the_change(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        change_id = await _open(client, tokens, **MEDIUM_RISK)
        await _decide(client, tokens, change_id, "ann", "cab")
        rejected = await _decide(client, tokens, change_id, "bob", "cab", decision="reject")
        assert rejected.json()["state"] == "rejected"
        late = await _decide(client, tokens, change_id, "cyd", "cab")
        assert "rejected" in assert_problem(late, 409)["detail"]
        itsm = (
            await client.get(f"/changes/{change_id}/itsm", headers=tokens.headers("vic", "viewer"))
        ).json()
        assert itsm["result"]["approval"] == "rejected"


async def test_stale_if_match_is_412(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        change_id = await _open(client, tokens, **MEDIUM_RISK)
        await _decide(client, tokens, change_id, "ann", "cab")
        stale = await client.post(
            f"/changes/{change_id}/approvals",
            json={"decision": "approve"},
            headers={**tokens.headers("bob", "cab"), "If-Match": '"1"'},
        )
        assert_problem(stale, 412)
        assert await count_rows(client, "approvals") == 1


async def test_emergency_review_and_overdue_list(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        context = client.app.state.context
        change_id = await _open(client, tokens, urgency="critical")
        await _decide(client, tokens, change_id, "sam", "senior_ops")
        viewer = tokens.headers("vic", "viewer")
        assert (await client.get("/reviews/overdue", headers=viewer)).json()["items"] == []
        real_clock = context.clock
        context.clock = lambda: real_clock() + SIX_DAYS
        overdue = (await client.get("/reviews/overdue", headers=viewer)).json()["items"]
        assert [c["id"] for c in overdue] == [change_id]
        listed = (await client.get("/changes?review_overdue=true", headers=viewer)).json()
        assert [c["id"] for c in listed["items"]] == [change_id]
        context.clock = real_clock
        review = await client.post(
            f"/changes/{change_id}/review",
            json={"outcome": "successful", "lessons": "fine", "actions": []},
            headers=tokens.headers("sam", "senior_ops"),
        )
        assert review.status_code == 201, review.text
        assert review.json()["state"] == "closed"
        assert review.json()["close_code"] == "successful"
        context.clock = lambda: real_clock() + SIX_DAYS
        assert (await client.get("/reviews/overdue", headers=viewer)).json()["items"] == []


async def test_a_cancelled_emergency_change_owes_no_review(governance: Any, tokens: Tokens) -> None:
    async with governance() as client:
        context = client.app.state.context
        change_id = await _open(client, tokens, urgency="critical")
        approved = await _decide(client, tokens, change_id, "sam", "senior_ops")
        assert approved.json()["state"] == "scheduled"
        cancelled = await client.post(
            f"/changes/{change_id}/cancel",
            json={"reason": "fixed by the vendor"},
            headers=tokens.headers("rita", "releaser"),
        )
        assert cancelled.json()["state"] == "cancelled"
        real_clock = context.clock
        context.clock = lambda: real_clock() + SIX_DAYS
        viewer = tokens.headers("vic", "viewer")
        assert (await client.get("/reviews/overdue", headers=viewer)).json()["items"] == []
        listed = (await client.get(f"/changes/{change_id}", headers=viewer)).json()
        assert listed["review_overdue"] is False
