"""Lists, notes, runbook, descoping proposal and stale toggles through HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from flightdeck.kit.testing import context_of
from flightdeck.planning.db import tables
from tests.planning.integration.support import COMMIT, TOGGLE, Planning, assert_problem


async def test_list_filters_and_pages(api: Planning) -> None:
    client = api.client
    for day in range(1, 6):
        await api.plan(
            name=f"R{day}",
            planned_start=f"2026-05-0{day}T08:00:00Z",
            planned_end=f"2026-05-0{day}T10:00:00Z",
            services=["search"] if day % 2 else ["checkout"],
            team="growth" if day == 5 else "payments",
        )

    async def names(**params: Any) -> tuple[list[str], str | None]:
        response = await client.get("/releases", params=params, headers=api.viewer)
        assert response.status_code == 200, response.text
        body = response.json()
        return [r["name"] for r in body["items"]], body["next_cursor"]

    first, cursor = await names(limit=2)
    assert first == ["R1", "R2"]
    second, _ = await names(limit=2, cursor=cursor)
    assert second == ["R3", "R4"]
    assert (await names(service="search"))[0] == ["R1", "R3", "R5"]
    assert (await names(team="growth"))[0] == ["R5"]
    ranged = await names(**{"from": "2026-05-02T00:00:00Z", "to": "2026-05-04T00:00:00Z"})
    assert ranged[0] == ["R2", "R3"]
    assert (await names(state="scoped"))[0] == []
    bad = await client.get("/releases", params={"state": "shipped"}, headers=api.viewer)
    assert_problem(bad, 422)
    assert_problem(
        await client.get("/releases", params={"cursor": "garbage"}, headers=api.viewer), 422
    )


async def test_notes_in_markdown_and_json_and_runbook(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    await api.item(rid, title="One-page checkout", feature_toggle=TOGGLE["key"])
    await api.item(rid, title="Rounding of totals", kind="fix")
    await api.ready(rid)
    issue = {"title": "Slow receipts", "workaround": "Reload", "impact": "Few users."}
    await client.post(f"/releases/{rid}/known-issues", json=issue, headers=api.releaser)
    markdown = await client.get(f"/releases/{rid}/notes", headers=api.viewer)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "- One-page checkout (behind toggle `new-checkout`)" in markdown.text
    assert "- **Slow receipts**: Few users. Workaround: Reload" in markdown.text
    as_json = await client.get(
        f"/releases/{rid}/notes", headers={**api.viewer, "Accept": "application/json"}
    )
    assert [f["title"] for f in as_json.json()["fixes"]] == ["Rounding of totals"]
    book = (await client.get(f"/releases/{rid}/runbook", headers=api.viewer)).json()
    assert book["steps"][1]["action"] == "Deploy checkout 2.4.0 to production"
    assert len(book["rollback"]["triggers"]) == 2
    assert {"role": "qa sign-off", "name": "qa-lead"} in book["contacts"]
    text = await client.get(
        f"/releases/{rid}/runbook", headers={**api.viewer, "Accept": "text/markdown"}
    )
    assert text.text.startswith("# Runbook: Spring checkout 2.4.0")


async def test_descoping_proposal_ranks_items(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    await api.item(rid, id="LAW", title="Audit log", priority=5, regulatory=True)
    await api.item(rid, id="NICE", title="Confetti", priority=5, commits=[COMMIT])
    await api.item(rid, id="CORE", title="Payment fix", priority=1, kind="fix")
    response = await client.get(f"/releases/{rid}/descoping-proposal", headers=api.viewer)
    ranked = response.json()["items"]
    assert [(c["rank"], c["item_id"]) for c in ranked] == [(1, "NICE"), (2, "CORE"), (3, "LAW")]
    assert ranked[0]["reason"].startswith("priority 5 of 5")


async def test_stale_toggles_of_released_releases(api: Planning) -> None:
    client = api.client
    shipped, draft = (await api.plan())["id"], (await api.plan(name="Draft"))["id"]
    for rid in (shipped, draft):
        await client.post(f"/releases/{rid}/toggles", json=TOGGLE, headers=api.releaser)
    async with context_of(client.app).engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            update(tables.releases).where(tables.releases.c.id == shipped).values(state="released")
        )

    async def stale(today: str) -> list[tuple[str, str]]:
        response = await client.get("/toggles/stale", params={"today": today}, headers=api.viewer)
        assert response.status_code == 200, response.text
        return [(t["release_id"], t["key"]) for t in response.json()["items"]]

    assert await stale("2026-06-30") == []  # remove_by is not past yet
    assert await stale("2026-07-01") == [(shipped, "new-checkout")]
