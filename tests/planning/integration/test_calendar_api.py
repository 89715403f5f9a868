"""The business calendar through HTTP: declare, list, withdraw, conflicts, and the scope
check against blackouts."""

from __future__ import annotations

from flightdeck.planning.db import tables
from tests.planning.integration.support import Planning, assert_problem, count, staged_types

SATURDAYS = {
    "name": "Saturday peak",
    "reason": "peak",
    "starts_at": "2026-03-21T10:00:00+01:00",
    "ends_at": "2026-03-21T14:00:00+01:00",
    "timezone": "Europe/Berlin",
    "rrule": "FREQ=WEEKLY;BYDAY=SA",
    "services": ["checkout"],
}


async def test_declare_list_and_withdraw_blackouts(api: Planning) -> None:
    client = api.client
    declared = await client.post("/calendar/blackouts", json=SATURDAYS, headers=api.releaser)
    assert declared.status_code == 201, declared.text
    blackout = declared.json()
    assert blackout["starts_at"] == "2026-03-21T09:00:00Z"
    assert blackout["declared_by"] == "rita"
    second = {**SATURDAYS, "name": "Quarter close", "rrule": None, "services": []}
    await client.post("/calendar/blackouts", json=second, headers=api.releaser)
    first_page = await client.get("/calendar/blackouts", params={"limit": 1}, headers=api.viewer)
    assert [b["name"] for b in first_page.json()["items"]] == ["Saturday peak"]
    rest = await client.get(
        "/calendar/blackouts",
        params={"limit": 1, "cursor": first_page.json()["next_cursor"]},
        headers=api.viewer,
    )
    assert [b["name"] for b in rest.json()["items"]] == ["Quarter close"]
    assert rest.json()["next_cursor"] is None
    url = f"/calendar/blackouts/{blackout['id']}"
    assert (await client.delete(url, headers=api.releaser)).status_code == 204
    assert_problem(await client.delete(url, headers=api.releaser), 404)
    assert await staged_types(client) == [
        "flightdeck.calendar.blackout_declared.v1",
        "flightdeck.calendar.blackout_declared.v1",
        "flightdeck.calendar.blackout_withdrawn.v1",
    ]


async def test_bad_blackouts_are_422_listing_each_error(api: Planning) -> None:
    client = api.client

    async def refused(**changes: object) -> list[str]:
        """Where the errors are when declaring SATURDAYS with `changes`."""
        body = {**SATURDAYS, **changes}
        response = await client.post("/calendar/blackouts", json=body, headers=api.releaser)
        return [e["location"] for e in assert_problem(response, 422)["errors"]]

    zone_and_end = await refused(timezone="Europe/Atlantis", ends_at="2026-03-21T09:00:00+01:00")
    assert zone_and_end == ["body.ends_at", "body.timezone"]
    assert await refused(rrule="FREQ=FORTNIGHTLY") == ["body.rrule"]
    naive = await refused(starts_at="2026-03-21T10:00:00", reason="holiday")
    assert set(naive) == {"body.starts_at", "body.reason"}
    edges = await refused(starts_at="0001-01-01T00:00:00Z", ends_at="9999-12-31T23:00:00Z")
    assert edges == ["body.starts_at", "body.ends_at"]
    assert await refused(ends_at="2027-03-23T10:00:00+01:00") == ["body.ends_at"]  # > 366 days
    late = {"start": "9999-12-30T00:00:00Z", "end": "9999-12-31T00:00:00Z"}
    body = assert_problem(
        await client.get("/calendar/conflicts", params=late, headers=api.viewer), 422
    )
    assert [e["location"] for e in body["errors"]] == ["query.start", "query.end"]
    assert await count(client, tables.blackouts) == 0


async def test_conflicts_follow_local_time_and_name_the_next_free_start(api: Planning) -> None:
    client = api.client
    await client.post("/calendar/blackouts", json=SATURDAYS, headers=api.releaser)
    # Saturday 4 April is summer time: the blackout is 08:00-12:00 UTC.
    query = {"start": "2026-04-04T11:00:00Z", "end": "2026-04-04T13:00:00Z"}
    found = await client.get(
        "/calendar/conflicts", params={**query, "service": "checkout"}, headers=api.viewer
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert [(o["starts_at"], o["ends_at"]) for o in body["occurrences"]] == [
        ("2026-04-04T08:00:00Z", "2026-04-04T12:00:00Z")
    ]
    assert body["next_free_start"] == "2026-04-04T12:00:00Z"
    other = await client.get(
        "/calendar/conflicts", params={**query, "service": "search"}, headers=api.viewer
    )
    assert other.json()["occurrences"] == []
    naive = await client.get(
        "/calendar/conflicts",
        params={"start": "2026-04-04T11:00:00", "end": "2026-04-04T13:00:00Z"},
        headers=api.viewer,
    )
    assert_problem(naive, 422)
    decade = {"start": "2026-01-01T00:00:00Z", "end": "2036-01-01T00:00:00Z"}
    body = assert_problem(
        await client.get("/calendar/conflicts", params=decade, headers=api.viewer), 422
    )
    assert body["errors"][0]["location"] == "query.end"


async def test_scope_is_refused_inside_a_blackout(api: Planning) -> None:
    client = api.client
    await client.post("/calendar/blackouts", json=SATURDAYS, headers=api.releaser)
    rid = (
        await api.plan(
            planned_start="2026-04-04T09:00:00+02:00", planned_end="2026-04-04T11:00:00+02:00"
        )
    )["id"]
    await api.ready(rid)
    body = assert_problem(await api.scope(rid), 409)
    [violation] = body["violations"]
    assert violation["rule"] == "blackout"
    assert violation["next_free_start"] == "2026-04-04T12:00:00Z"
    assert violation["occurrences"][0]["name"] == "Saturday peak"
    assert (await api.get(rid))["state"] == "draft"
