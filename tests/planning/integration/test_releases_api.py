"""The release API through HTTP on the real database: planning, scope, sign-offs, freezing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flightdeck.planning.api.views import ReleaseView
from flightdeck.planning.db import tables
from flightdeck.planning.db.repositories import Releases
from tests.planning.integration.support import (
    COMMIT,
    RELEASE,
    TOGGLE,
    Planning,
    assert_problem,
    count,
    staged_types,
)


async def test_plan_a_release_and_read_it_back(api: Planning) -> None:
    client = api.client
    created = await api.plan()
    assert created["state"] == "draft"
    assert created["version"] == "2.4.0"  # the software version round-trips
    assert created["resource_version"] == 1
    assert created["planned_start"] == "2026-04-14T06:00:00Z"
    read = await client.get(f"/releases/{created['id']}", headers=api.viewer)
    assert read.headers["etag"] == '"1"'
    assert read.json() == created
    ReleaseView.model_validate(created)  # the documented shape
    assert await staged_types(client) == ["flightdeck.release.planned.v1"]


async def test_bad_release_input_lists_every_error_and_stores_nothing(api: Planning) -> None:
    client = api.client
    naive = {**RELEASE, "planned_start": "2026-04-14T08:00:00", "team": ""}
    body = assert_problem(await client.post("/releases", json=naive, headers=api.releaser), 422)
    assert {e["location"] for e in body["errors"]} == {"body.planned_start", "body.team"}
    backwards = {**RELEASE, "planned_end": "2026-04-14T07:00:00+02:00"}
    body = assert_problem(await client.post("/releases", json=backwards, headers=api.releaser), 422)
    assert [e["location"] for e in body["errors"]] == ["body.planned_end"]
    # Times at the calendar's edges are refused, not a 500 when converted or searched from.
    edges = {**RELEASE, "planned_start": "0001-01-01T00:00:00+05:00"}
    edges["planned_end"] = "9999-12-31T23:00:00Z"
    body = assert_problem(await client.post("/releases", json=edges, headers=api.releaser), 422)
    assert [e["location"] for e in body["errors"]] == ["body.planned_start", "body.planned_end"]
    yearlong = {**RELEASE, "planned_end": "2027-04-16T00:00:00Z"}
    body = assert_problem(await client.post("/releases", json=yearlong, headers=api.releaser), 422)
    assert [e["location"] for e in body["errors"]] == ["body.planned_end"]
    assert await count(client, tables.releases) == 0
    assert await staged_types(client) == []


async def test_roles_are_enforced(api: Planning) -> None:
    client = api.client
    assert_problem(await client.post("/releases", json=RELEASE, headers=api.viewer), 403)
    release = await api.plan()
    sign = {"function": "qa", "decision": "approve"}
    url = f"/releases/{release['id']}/signoffs"
    assert_problem(await client.post(url, json=sign, headers=api.releaser), 403)
    assert_problem(await client.get("/releases"), 401)


async def test_items_reject_bad_input_together(api: Planning) -> None:
    client = api.client
    release = await api.plan()
    other = await api.plan(name="Other")
    foreign = await api.item(other["id"], title="Elsewhere")
    await api.item(release["id"], title="One-page checkout", id="CHK-1")
    bad = {
        "kind": "feature",
        "title": "one-page CHECKOUT",
        "priority": 2,
        "depends_on": [foreign["id"], "NOPE-1"],
    }
    url = f"/releases/{release['id']}/items"
    body = assert_problem(await client.post(url, json=bad, headers=api.releaser), 422)
    assert [e["location"] for e in body["errors"]] == [
        "body.title",
        "body.depends_on.0",
        "body.depends_on.1",
    ]
    assert "not to release" in body["errors"][1]["message"]
    enum = {"kind": "epic", "title": "X", "priority": 9}
    body = assert_problem(await client.post(url, json=enum, headers=api.releaser), 422)
    assert {e["location"] for e in body["errors"]} == {"body.kind", "body.priority"}
    # The same title with blanks around it; a line break that would break the notes.
    for title in (" One-page checkout  ", "Rounding\n## Not a heading"):
        line = {"kind": "fix", "title": title, "priority": 2}
        body = assert_problem(await client.post(url, json=line, headers=api.releaser), 422)
        assert [e["location"] for e in body["errors"]] == ["body.title"], title
    assert len((await api.get(release["id"]))["items"]) == 1
    await api.item(release["id"], title="ß" * 200)  # 400 characters once case-folded


async def test_a_batch_with_a_cycle_is_refused_whole(api: Planning) -> None:
    client = api.client
    release = await api.plan()
    batch = {
        "items": [
            {"id": "A", "kind": "feature", "title": "A", "priority": 1, "depends_on": ["C"]},
            {"id": "B", "kind": "fix", "title": "B", "priority": 2, "depends_on": ["A"]},
            {"id": "C", "kind": "chore", "title": "C", "priority": 3, "depends_on": ["B"]},
        ]
    }
    url = f"/releases/{release['id']}/items/batch"
    body = assert_problem(await client.post(url, json=batch, headers=api.releaser), 422)
    assert "A → C → B → A" in body["detail"]
    assert await count(client, tables.items) == 0
    batch["items"][0]["depends_on"] = []
    added = await client.post(url, json=batch, headers=api.releaser)
    assert added.status_code == 201, added.text
    assert [i["id"] for i in added.json()["items"]] == ["A", "B", "C"]
    assert added.headers["etag"] == '"2"'


async def test_freezing_lists_every_broken_rule(api: Planning) -> None:
    release = await api.plan()
    rid = release["id"]
    await api.item(rid, title="Card vault", regulatory=True, feature_toggle="vault-v2")
    await api.sign(rid, "qa", "reject")
    await api.sign(rid, "dev")
    body = assert_problem(await api.scope(rid), 409)
    rules = sorted((v["rule"], v.get("function", v.get("toggle", ""))) for v in body["violations"])
    assert rules == [
        ("feature_toggle", "vault-v2"),
        ("rollback_criteria", ""),
        ("signoff", "ops"),
        ("signoff", "qa"),
        ("signoff", "security"),
    ]
    assert (await api.get(rid))["state"] == "draft"


async def test_a_later_approval_lifts_a_rejection_and_scope_freezes(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    await api.item(rid, title="One-page checkout", feature_toggle=TOGGLE["key"], commits=[COMMIT])
    await api.sign(rid, "qa", "reject")
    await api.ready(rid)
    response = await api.scope(rid)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "scoped"
    assert response.json()["scoped_at"] is not None
    types = await staged_types(client)
    assert types[-1] == "flightdeck.release.scoped.v1"
    assert types.count("flightdeck.release.readiness_signed.v1") == 4
    again = await client.post(
        f"/releases/{rid}/items",
        json={"kind": "fix", "title": "Late", "priority": 1},
        headers=api.releaser,
    )
    assert_problem(again, 409)


async def test_bad_criteria_are_422_and_keep_the_old_ones(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    url = f"/releases/{rid}/rollback-criteria"
    good = [{"metric": "errors", "comparator": "gt", "threshold": 1, "window_seconds": 60}]
    assert (await client.put(url, json=good, headers=api.releaser)).status_code == 200
    bad = [
        {"metric": "errors", "comparator": "eq", "threshold": 1, "window_seconds": 60},
        {"metric": "latency", "comparator": "lt", "threshold": 1, "window_seconds": 0},
        {**good[0], "window": 5},
    ]
    body = assert_problem(await client.put(url, json=bad, headers=api.releaser), 422)
    assert [e["location"] for e in body["errors"]] == [
        "body.0.comparator",
        "body.1.window_seconds",
        "body.2.window",
    ]
    twice = [good[0], good[0]]
    body = assert_problem(await client.put(url, json=twice, headers=api.releaser), 422)
    assert [e["location"] for e in body["errors"]] == ["body.1"]
    release = await api.get(rid)
    assert [c["metric"] for c in release["rollback_criteria"]] == ["errors"]
    assert release["resource_version"] == 2


async def test_stale_if_match_is_412_and_current_one_passes(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    url = f"/releases/{rid}/toggles"
    stale = {**api.releaser, "If-Match": '"7"'}
    body = assert_problem(await client.post(url, json=TOGGLE, headers=stale), 412)
    assert body["current_version"] == 1
    fresh = {**api.releaser, "If-Match": '"1"'}
    response = await client.post(url, json=TOGGLE, headers=fresh)
    assert response.status_code == 201
    assert response.headers["etag"] == '"2"'
    assert len((await api.get(rid))["toggles"]) == 1


async def test_concurrent_writes_with_one_if_match_let_one_win(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    headers = {**api.releaser, "If-Match": '"1"'}

    def post(key: str) -> Any:
        body = {**TOGGLE, "key": key}
        return client.post(f"/releases/{rid}/toggles", json=body, headers=headers)

    answers = await asyncio.gather(post("first"), post("second"))
    assert sorted(a.status_code for a in answers) == [201, 412]
    release = await api.get(rid)
    assert len(release["toggles"]) == 1
    assert release["resource_version"] == 2


async def test_removing_an_item_others_need_is_409_naming_them(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    await api.item(rid, id="BASE", title="Base")
    await api.item(rid, id="TOP", title="Top", depends_on=["BASE"])
    body = assert_problem(
        await client.delete(f"/releases/{rid}/items/BASE", headers=api.releaser), 409
    )
    assert body["dependants"] == ["TOP"]
    removed = await client.delete(
        f"/releases/{rid}/items/BASE", params={"cascade": "true"}, headers=api.releaser
    )
    assert removed.status_code == 200
    assert removed.json()["items"] == []
    assert "flightdeck.release.scope_reduced.v1" not in await staged_types(client)


async def test_scope_reduction_after_freezing_emits_scope_reduced(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    await api.item(rid, id="KEEP", title="Keep")
    await api.item(rid, id="DROP", title="Drop")
    await api.ready(rid)
    assert (await api.scope(rid)).status_code == 200
    url = f"/releases/{rid}/items/DROP"
    assert_problem(await client.delete(url, headers=api.releaser), 422)  # reason needed
    response = await client.delete(url, params={"reason": "too risky"}, headers=api.releaser)
    assert response.status_code == 200, response.text
    assert [i["id"] for i in response.json()["items"]] == ["KEEP"]
    assert (await staged_types(client))[-1] == "flightdeck.release.scope_reduced.v1"


async def test_cancel_and_known_issues(api: Planning) -> None:
    client = api.client
    rid = (await api.plan())["id"]
    url = f"/releases/{rid}/cancel"
    response = await client.post(url, json={"reason": "budget"}, headers=api.releaser)
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert_problem(await client.post(url, json={}, headers=api.releaser), 409)
    issue = {"title": "Slow", "workaround": "Retry", "impact": "Some users"}
    assert_problem(
        await client.post(f"/releases/{rid}/known-issues", json=issue, headers=api.releaser),
        409,
    )
    assert (await staged_types(client))[-1] == "flightdeck.release.cancelled.v1"


async def test_unknown_release_is_404(api: Planning) -> None:
    client = api.client
    assert_problem(await client.get("/releases/nope", headers=api.viewer), 404)
    assert_problem(await api.scope("nope"), 404)


async def test_a_release_is_read_as_of_one_moment(
    api: Planning, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A known issue is committed between the read of the release row and of its parts.
    rid = (await api.plan())["id"]
    issue = {"title": "Slow receipts", "workaround": "Reload", "impact": "Few users."}
    read_rows = Releases._rows
    interleaved: list[int] = []

    async def rows(self: Releases, table: Any, *args: Any) -> Any:
        if table is tables.known_issues and not interleaved:
            interleaved.append(0)  # once: the write below reads the release too
            url = f"/releases/{rid}/known-issues"
            added = await api.client.post(url, json=issue, headers=api.releaser)
            interleaved[0] = added.status_code
        return await read_rows(self, table, *args)

    monkeypatch.setattr(Releases, "_rows", rows)
    read = await api.get(rid)
    assert interleaved == [201]
    assert (read["resource_version"], read["known_issues"]) == (1, [])  # not half of version 2
    monkeypatch.undo()
    assert len((await api.get(rid))["known_issues"]) == 1
