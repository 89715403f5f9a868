"""Drill-down, exports, the event log, the value stream and bad input, over HTTP on the
scenario (tests/metrics/scenario.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flightdeck.events.catalogue.executor import DeploymentStarted
from flightdeck.events.catalogue.validation import VerificationPassed
from flightdeck.events.envelope import Envelope
from flightdeck.events.testing import example
from flightdeck.kit.pagination import encode_cursor
from flightdeck.kit.testing import Tokens
from tests.metrics import scenario
from tests.metrics.integration.test_dora_scenario import OFFLINE, feed


@pytest.fixture
async def client(start_service: Any) -> AsyncIterator[Any]:
    async with start_service("metrics", **OFFLINE) as running:
        await feed(running, scenario.events())
        yield running


@pytest.fixture
def viewer(tokens: Tokens) -> dict[str, str]:
    return tokens.headers("ana", "viewer")


async def all_pages(client: Any, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def test_deployments_drill_down_explains_every_number(
    client: Any, viewer: dict[str, str]
) -> None:
    rows = await all_pages(client, "/dora/deployments", viewer, limit=4, **scenario.WINDOW)
    assert [row["deployment_id"] for row in rows] == [
        "C1", "K1", "L1", "K2", "C2", "K3", "K4", "K5", "C3", "C4", "L2", "C5", "C6", "C7", "K6",
    ]  # fmt: skip
    by_id = {row["deployment_id"]: row for row in rows}
    assert sum(row["failed"] for row in rows) == 4  # the change failure rate's numerator
    assert by_id["C2"]["failure_rule"] == "named"
    assert by_id["C2"]["team"] == "payments"  # from ReleasePlanned: C2 names no team
    assert [(c["sha"], c["counted"], c["lead_time_seconds"]) for c in by_id["C2"]["commits"]] == [
        ("c1", False, None),  # first deployed by C1
        ("c2", True, 43200.0),
    ]
    assert by_id["C3"]["failure_rule"] == "rollback"  # the rollback rule comes before 24 h
    assert [(f["failure_id"], f["rule"]) for f in by_id["C3"]["failures"]] == [
        ("rollback:C4", "rollback"),
        ("HC2", "window_24h"),
    ]
    assert by_id["C6"]["failure_rule"] == "window_24h"  # attributed once the late C6 arrived
    assert by_id["C4"]["is_rollback"]
    assert not by_id["C4"]["failed"]
    leads = [c for row in rows for c in row["commits"] if c["counted"]]
    assert len([c for c in leads if c["lead_time_seconds"] > 0]) == 13  # lead_time.n


async def test_failures_drill_down(client: Any, viewer: dict[str, str]) -> None:
    rows = await all_pages(client, "/dora/failures", viewer, **scenario.WINDOW)
    summary = [
        (r["failure_id"], r["deployment_id"], r["rule"], r["recovery_seconds"], r["open"])
        for r in rows
    ]
    assert summary == [
        ("HC1", "C2", "named", 1800.0, False),
        ("HC2", "C3", "window_24h", 3600.0, False),
        ("rollback:C4", "C3", "rollback", None, False),
        ("HC4", "L2", "named", None, True),
        ("HC3", "C6", "window_24h", 7200.0, False),
        ("HC5", None, None, None, True),
    ]
    assert rows[1]["recovered_by"] == "deployment"
    assert rows[4]["recovered_by"] == "service_restored"
    search = await all_pages(client, "/dora/failures", viewer, team="search", **scenario.WINDOW)
    assert [r["failure_id"] for r in search] == ["HC5"]


async def test_csv_exports(client: Any, viewer: dict[str, str]) -> None:
    response = await client.get("/export/deployments.csv", params=scenario.WINDOW, headers=viewer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    # 15 deployments, one line per commit: C2 carries two, the rollback C4 none (one line).
    assert len(lines) == 16
    assert {line["deployment_id"] for line in lines} >= {"C2", "C4", "K6"}
    c2 = [line for line in lines if line["deployment_id"] == "C2"]
    assert [(line["sha"], line["counted"]) for line in c2] == [("c1", "False"), ("c2", "True")]
    failures = await client.get("/export/failures.csv", params=scenario.WINDOW, headers=viewer)
    rows = list(csv.DictReader(io.StringIO(failures.text)))
    assert [row["failure_id"] for row in rows] == [
        "HC1", "HC2", "rollback:C4", "HC4", "HC3", "HC5",
    ]  # fmt: skip


async def test_event_log_queries(client: Any, viewer: dict[str, str]) -> None:
    events = scenario.events()
    logged = await all_pages(client, "/events", viewer, limit=10)
    assert len(logged) == len({e.id for e in events})  # C2's second delivery is not logged
    assert [item["seq"] for item in logged] == sorted(item["seq"] for item in logged)
    failed = await all_pages(client, "/events", viewer, type="flightdeck.healthcheck.failed.v1")
    assert [item["id"] for item in failed] == ["HC1", "HC2", "HC4", "HC3", "HC5"]
    release = await all_pages(client, "/events", viewer, correlation_id="rel-1")
    assert [item["type"].split(".")[1:3] for item in release] == [
        ["release", "planned"],
        ["release", "scoped"],
        ["change", "approved"],
        ["deployment", "started"],
        ["deployment", "finished"],
    ]
    timed = await all_pages(
        client, "/events", viewer, subject="C3", **{"from": "2026-01-14T00:00:00Z"}
    )
    assert [item["data"]["deployment_id"] for item in timed] == ["C3"]


async def test_value_stream_of_a_release_and_its_bottleneck(
    client: Any, viewer: dict[str, str]
) -> None:
    response = await client.get("/value-stream", params={"release_id": "rel-1"}, headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    # planned day -10 00:00, scoped day -5, approved day -2, window day -1 08:00 (not the one
    # of day -20, before approval), started day 0 09:30, finished 10:00, verified 11:00.
    assert {s["stage"]: s["seconds"] for s in body["stages"]} == {
        "planned_to_scoped": 5 * 86400.0,
        "scoped_to_change_approved": 3 * 86400.0,
        "change_approved_to_window_opened": 32 * 3600.0,
        "window_opened_to_deployment_started": 25.5 * 3600,
        "deployment_started_to_deployment_finished": 1800.0,
        "deployment_finished_to_verified": 3600.0,
    }
    assert body["milestones"]["window_opened"] == "2026-01-04T08:00:00Z"
    summary = await client.get(
        "/value-stream",
        params={"from": "2025-12-20T00:00:00Z", "to": "2026-01-10T00:00:00Z", "team": "payments"},
        headers=viewer,
    )
    assert summary.json()["releases"] == 1
    assert summary.json()["bottleneck"] == "planned_to_scoped"
    other = await client.get(
        "/value-stream",
        params={"from": "2025-12-20T00:00:00Z", "to": "2026-01-10T00:00:00Z", "team": "search"},
        headers=viewer,
    )
    assert other.json()["releases"] == 0
    assert other.json()["bottleneck"] is None
    missing = await client.get("/value-stream", params={"release_id": "nope"}, headers=viewer)
    assert missing.status_code == 404


async def test_a_release_is_deployed_only_to_its_target_environment(
    client: Any, tokens: Tokens, viewer: dict[str, str]
) -> None:
    # rel-1 targets prod. Its staging rehearsal started the evening before C1, a staging
    # deployment finished after C1 and passed verification in staging: none of it is its
    # deployment or its verification, so the stages do not move, incrementally or after a
    # rebuild.
    stage_start = example(
        DeploymentStarted,
        deployment_id="S1",
        release_id="rel-1",
        service="checkout",
        environment="stage",
        started_at=scenario.at(-1, 20),
    )
    stage_finish = scenario.finished(
        "S2", "checkout", scenario.at(0, 14), [], tier="staging", release_id="rel-1"
    )
    stage_verified = example(
        VerificationPassed,
        verification_id="v-stage",
        deployment_id="S2",
        release_id="rel-1",
        service="checkout",
        environment="stage",
        passed_at=scenario.at(0, 15),
    )
    expected = {
        "deployment_started": "2026-01-05T09:30:00Z",
        "deployment_finished": "2026-01-05T10:00:00Z",
        "verified": "2026-01-05T11:00:00Z",
    }

    async def deployment_milestones() -> dict[str, Any]:
        response = await client.get("/value-stream", params={"release_id": "rel-1"}, headers=viewer)
        milestones = response.json()["milestones"]
        return {name: milestones[name] for name in expected}

    assert await deployment_milestones() == expected
    staging = [
        Envelope(data=stage_start, time=stage_start.started_at),
        stage_finish,
        Envelope(data=stage_verified, time=stage_verified.passed_at),
    ]
    await feed(client, staging)
    assert await deployment_milestones() == expected
    admin = tokens.headers("root", "admin")
    assert (await client.post("/projections/rebuild", headers=admin)).status_code == 200
    assert await deployment_milestones() == expected


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"from": "2026-03-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "query.from"),
        ({"from": "2026-01-01T00:00:00", "to": "2026-03-01T00:00:00Z"}, "query.from"),
        ({"bucket": "hour"}, "query.bucket"),
        ({"benchmark": "2019"}, "query.benchmark"),
        ({"environment_tier": "moon"}, "query.environment_tier"),
        (
            {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "bucket": "day"},
            "query.bucket",
        ),
        ({"cursor": "not-a-cursor"}, None),
    ],
)
async def test_bad_input_is_a_422_problem(
    client: Any, viewer: dict[str, str], params: dict[str, str], location: str | None
) -> None:
    path = "/dora/deployments" if "cursor" in params else "/dora"
    response = await client.get(path, params=params, headers=viewer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    if location is not None:
        assert location in [error["location"] for error in body["errors"]]


EARLY = "0001-01-02T00:00:00Z"


@pytest.mark.parametrize(
    ("path", "params", "location"),
    [
        # Before 1970 or after 3000: the default `from` (and month arithmetic) overflowed: 500.
        ("/dora", {"to": EARLY}, "query.to"),
        ("/dora", {"from": EARLY, "to": "9999-12-31T00:00:00Z"}, "query.from"),
        ("/export/deployments.csv", {"to": EARLY}, "query.to"),
        ("/value-stream", {"to": EARLY}, "query.to"),
        ("/events", {"from": EARLY}, "query.from"),
        # A thousand years of weeks took half a minute to answer.
        ("/dora", {"from": "1970-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "bucket": "week"},
         "query.bucket"),
        # The event log's window is checked like the others (it answered an empty page).
        ("/events", {"from": "2026-03-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "query.from"),
        # An empty team matched the deployments of no known team (and no failure).
        ("/dora", {"team": ""}, "query.team"),
        ("/export/failures.csv", {"service": ["checkout", " "]}, "query.service"),
        # Cursor keys beyond 64 bits reached the database: 500.
        ("/dora/deployments", {"cursor": encode_cursor(2**64 - 1, "x")}, None),
        ("/events", {"cursor": encode_cursor(2**64 - 1)}, None),
    ],
)  # fmt: skip
async def test_windows_and_cursors_out_of_range_are_422(
    client: Any, viewer: dict[str, str], path: str, params: dict[str, str], location: str | None
) -> None:
    response = await client.get(path, params=params, headers=viewer)
    assert response.status_code == 422, response.text
    if location is not None:
        assert location in [error["location"] for error in response.json()["errors"]]


async def test_a_missing_from_never_reaches_before_1970(
    client: Any, viewer: dict[str, str]
) -> None:
    response = await client.get("/dora", params={"to": "1970-01-02T00:00:00Z"}, headers=viewer)
    assert response.status_code == 200, response.text
    assert response.json()["window"]["from"] == "1970-01-01T00:00:00Z"


async def test_several_errors_are_listed_together(client: Any, viewer: dict[str, str]) -> None:
    params = {"from": "2026-01-01T00:00:00", "bucket": "hour", "benchmark": "1999"}
    response = await client.get("/dora", params=params, headers=viewer)
    assert response.status_code == 422
    locations = {error["location"] for error in response.json()["errors"]}
    assert {"query.from", "query.bucket", "query.benchmark"} <= locations


async def test_reading_needs_a_token(client: Any) -> None:
    response = await client.get("/dora")
    assert response.status_code == 401
