"""Small hand-computed cases at the edges of the DORA definitions, through HTTP: a window not
aligned to weeks that crosses a month, its inclusive start and exclusive end, partial days, a
commit deployed twice, a rollback carrying commits, negative and missing lead times, a 24 h
boundary, an empty window and a single deployment; and the drill-down rows that explain them.

Service `svc` (team `t1`, declared) in `prod`. Times in 2026 (UTC):
- D1 Wed Jan 28 11:59 (one minute before the window)
- D2 Wed Jan 28 12:00 (the window's first instant): a, authored 10:00 (7200 s)
- D3 Sat Jan 31 23:00: b, authored 24 h earlier, merged Jan 31 22:00; a again (not counted)
- D4 Sun Feb 1 01:00: rollback (of D3), carrying c (a rollback deploys no commits)
- D5 Mon Feb 2 00:00: c authored Jan 31 22:00 (26 h: its first non-rollback deployment),
  d authored after the deployment (negative, excluded), e authored Feb 1 23:50 (600 s)
- D6 Wed Feb 4 12:00 (the window's end: not in it)
- HX unnamed, detected Feb 1 00:30: 24 h rule -> D3 (D3 also has the rollback rule, which
  comes first); recovered by D4 at 01:00 (1800 s)
- HY unnamed, detected Feb 3 00:00, exactly 24 h after D5 -> D5 (window_24h); restored 02:00
  (7200 s), before D6
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from flightdeck.events.envelope import Envelope
from flightdeck.kit.testing import Tokens
from tests.metrics.integration.test_dora_scenario import OFFLINE, blocks, feed
from tests.metrics.scenario import commit, finished, health_failed, restored

pytestmark = pytest.mark.usefixtures("backend")

WINDOW = {"from": "2026-01-28T12:00:00Z", "to": "2026-02-04T12:00:00Z"}


def t(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def events() -> list[Any]:
    a, c = commit("a", t(1, 28, 10)), commit("c", t(1, 31, 22))
    return [
        finished("D1", "svc", t(1, 28, 11, 59), [commit("z", t(1, 27))], team="t1"),
        finished("D2", "svc", t(1, 28, 12), [a], team="t1"),
        finished("D3", "svc", t(1, 31, 23), [commit("b", t(1, 30, 23), t(1, 31, 22)), a],
                 team="t1"),
        finished("D4", "svc", t(2, 1, 1), [c], team="t1", rollback=True),
        finished("D5", "svc", t(2, 2), [c, commit("d", t(2, 2, 1)), commit("e", t(2, 1, 23, 50))],
                 team="t1"),
        finished("D6", "svc", t(2, 4, 12), [commit("f", t(2, 4))], team="t1"),
        health_failed("HX", "svc", t(2, 1, 0, 30)),
        health_failed("HY", "svc", t(2, 3)),
        restored("HY", "svc", t(2, 3, 2)),
    ]  # fmt: skip


@pytest.fixture
async def client(start_service: Any) -> AsyncIterator[Any]:
    async with start_service("metrics", **OFFLINE) as running:
        await feed(running, events(), batch=3)
        yield running


async def get(client: Any, tokens: Tokens, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=tokens.headers("ana", "viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def nulls(n: int = 0) -> dict[str, Any]:
    return {"n": n, "p50_seconds": None, "p75_seconds": None, "p90_seconds": None, "tier": None}


async def test_window_not_aligned_to_weeks(client: Any, tokens: Tokens) -> None:
    body = await get(client, tokens, "/dora", **WINDOW)
    # D2 D3 D4 D5 (D1 before, D6 at the exclusive end): 4 in 7 days. ISO weeks overlapping the
    # window: Mon Jan 26 (deploy dates Jan 28, 31, Feb 1: 3), Mon Feb 2 (Feb 2: 1): median 2
    # (high). Months: January (28, 31: 2), February (1, 2: 2): median 2.
    # Lead (authored): a 7200, b 86400, c 93600, e 600 -> 600 7200 86400 93600:
    # p50 x[1.5] = 46800, p75 x[2.25] = 88200, p90 x[2.7] = 91440; < 1 day: elite.
    # Failed: D3 (rollback rule), D5 (24 h rule): 2 of 4, low. Recovery 1800, 7200:
    # p50 4500, p75 5850, p90 6660 (high). Rework: D4, 1 of 4.
    assert blocks(body) == {
        "deployment_frequency": {
            "count": 4,
            "per_day": pytest.approx(4 / 7),
            "deploy_days_per_week_median": 2.0,
            "deploy_days_per_month_median": 2.0,
            "tier": "high",
        },
        "lead_time": {
            "n": 4,
            "p50_seconds": 46800.0,
            "p75_seconds": 88200.0,
            "p90_seconds": pytest.approx(91440.0),
            "tier": "elite",
        },
        "change_failure_rate": {"numerator": 2, "denominator": 4, "value": 0.5, "tier": "low"},
        "recovery_time": {
            "n": 2,
            "open": 0,
            "p50_seconds": 4500.0,
            "p75_seconds": 5850.0,
            "p90_seconds": 6660.0,
            "tier": "high",
        },
        "rework_rate": {"numerator": 1, "denominator": 4, "value": 0.25},
    }
    # 2021 cut-offs: a median lead time of 13 h is not under an hour: high.
    older = await get(client, tokens, "/dora", benchmark="2021", **WINDOW)
    assert older["lead_time"]["tier"] == "high"
    # From merged: only b has a merge time (3600 s).
    merged = await get(client, tokens, "/dora", lead_time_start="merged", **WINDOW)
    assert merged["lead_time"] == {
        "n": 1,
        "p50_seconds": 3600.0,
        "p75_seconds": 3600.0,
        "p90_seconds": 3600.0,
        "tier": "elite",
    }


async def test_week_and_month_buckets_clip_to_the_window(client: Any, tokens: Tokens) -> None:
    weekly = (await get(client, tokens, "/dora", bucket="week", **WINDOW))["series"]
    # Jan 26 week: D2 D3 D4 over [Jan 28 12:00, Feb 2) = 4.5 days; Feb 2 week: D5 over 2.5.
    assert [b["bucket_start"] for b in weekly] == ["2026-01-26T00:00:00Z", "2026-02-02T00:00:00Z"]
    assert [b["deployment_frequency"]["count"] for b in weekly] == [3, 1]
    assert [b["deployment_frequency"]["per_day"] for b in weekly] == [3 / 4.5, 1 / 2.5]
    assert [b["change_failure_rate"]["numerator"] for b in weekly] == [1, 1]
    assert [b["recovery_time"]["n"] for b in weekly] == [1, 1]  # HX Feb 1, HY Feb 3
    assert [b["lead_time"]["n"] for b in weekly] == [2, 2]  # a b | c e
    monthly = (await get(client, tokens, "/dora", bucket="month", **WINDOW))["series"]
    assert [b["bucket_start"] for b in monthly] == ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]
    assert [b["deployment_frequency"]["count"] for b in monthly] == [2, 2]  # D2 D3 | D4 D5


async def test_an_empty_window_has_nulls_not_zeros(client: Any, tokens: Tokens) -> None:
    body = await get(client, tokens, "/dora", **{"from": "2026-03-02T00:00:00Z",
                                                  "to": "2026-03-09T00:00:00Z"})  # fmt: skip
    assert blocks(body) == {
        "deployment_frequency": {
            "count": 0,
            "per_day": 0.0,
            "deploy_days_per_week_median": 0.0,
            "deploy_days_per_month_median": 0.0,
            "tier": "low",
        },
        "lead_time": nulls(),
        "change_failure_rate": {"numerator": 0, "denominator": 0, "value": None, "tier": None},
        "recovery_time": {**nulls(), "open": 0},
        "rework_rate": {"numerator": 0, "denominator": 0, "value": None},
    }


async def test_a_single_deployment(client: Any, tokens: Tokens) -> None:
    # One hour around D2 only: 1 in 1/24 day; every percentile of one value is that value.
    body = await get(client, tokens, "/dora", **{"from": "2026-01-28T11:30:00Z",
                                                  "to": "2026-01-28T12:30:00Z"})  # fmt: skip
    assert body["deployment_frequency"]["count"] == 2  # D1 11:59 and D2 12:00
    one = await get(client, tokens, "/dora", **{"from": "2026-01-28T12:00:00Z",
                                                 "to": "2026-01-28T13:00:00Z"})  # fmt: skip
    assert one["deployment_frequency"]["count"] == 1
    assert one["deployment_frequency"]["per_day"] == 24.0
    assert one["lead_time"] == {"n": 1, "p50_seconds": 7200.0, "p75_seconds": 7200.0,
                                "p90_seconds": 7200.0, "tier": "elite"}  # fmt: skip


async def test_drill_down_reconciles(client: Any, tokens: Tokens) -> None:
    page = await get(client, tokens, "/dora/deployments", **WINDOW)
    rows = {row["deployment_id"]: row for row in page["items"]}
    assert list(rows) == ["D2", "D3", "D4", "D5"]
    counted = {
        c["sha"]: c["lead_time_seconds"]
        for row in rows.values()
        for c in row["commits"]
        if c["counted"]
    }
    # `counted` means: enters lead_time.n (d is first deployed by D5, at a negative lead time).
    assert counted == {"a": 7200.0, "b": 86400.0, "c": 93600.0, "e": 600.0}
    d = next(c for c in rows["D5"]["commits"] if c["sha"] == "d")
    assert d["lead_time_seconds"] == -3600.0
    assert [c["counted"] for c in rows["D4"]["commits"]] == [False]  # a rollback's commit
    assert {k: r["failure_rule"] for k, r in rows.items()} == {
        "D2": None, "D3": "rollback", "D4": None, "D5": "window_24h",
    }  # fmt: skip
    merged = await get(client, tokens, "/dora/deployments", lead_time_start="merged", **WINDOW)
    counted_merged = [c["sha"] for row in merged["items"] for c in row["commits"] if c["counted"]]
    assert counted_merged == ["b"]  # the others have no merge time: not in lead_time.n


async def test_csv_cells_never_start_a_formula(client: Any, tokens: Tokens) -> None:
    sneaky = finished("=HYPERLINK(1)", "@svc", t(3, 2), [commit("-1", t(3, 1))], team="+t")
    await feed(client, [sneaky])
    response = await client.get(
        "/export/deployments.csv",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z"},
        headers=tokens.headers("ana", "viewer"),
    )
    row = next(csv.DictReader(io.StringIO(response.text)))
    assert (row["deployment_id"], row["service"], row["team"], row["sha"]) == (
        "'=HYPERLINK(1)", "'@svc", "'+t", "'-1",
    )  # fmt: skip
    assert row["lead_time_seconds"] == "86400.0"


async def test_a_restoration_stamped_before_the_detection_is_an_immediate_recovery(
    client: Any, tokens: Tokens
) -> None:
    # Monitoring's clock is ten minutes behind validation's: recovery 0 s, not -600 s.
    await feed(
        client, [health_failed("HZ", "svc", t(3, 10, 12)), restored("HZ", "svc", t(3, 10, 11, 50))]
    )
    day = {"from": "2026-03-10T00:00:00Z", "to": "2026-03-11T00:00:00Z"}
    body = await get(client, tokens, "/dora", **day)
    assert body["recovery_time"] == {**nulls(1), "p50_seconds": 0.0, "p75_seconds": 0.0,
                                     "p90_seconds": 0.0, "tier": "elite", "open": 0}  # fmt: skip
    rows = (await get(client, tokens, "/dora/failures", **day))["items"]
    assert [(r["failure_id"], r["recovery_seconds"], r["open"]) for r in rows] == [
        ("HZ", 0.0, False)
    ]


async def test_a_rollback_with_nothing_before_it_is_attributed_to_nothing(
    client: Any, tokens: Tokens
) -> None:
    # R0 rolls `lone` back, but nothing of `lone` was deployed before it: its failure row has
    # neither a deployment nor a rule (as an unnamed health check outside any 24 h window),
    # also after a rebuild; a deployment found later before it takes the rollback rule.
    day = {"from": "2026-03-20T00:00:00Z", "to": "2026-03-21T00:00:00Z", "service": "lone"}
    await feed(client, [finished("R0", "lone", t(3, 20, 12), [], team="t1", rollback=True)])

    async def failures() -> list[tuple[Any, ...]]:
        rows = (await get(client, tokens, "/dora/failures", **day))["items"]
        return [(r["failure_id"], r["deployment_id"], r["rule"]) for r in rows]

    async def rate() -> tuple[int, int]:
        body = (await get(client, tokens, "/dora", **day))["change_failure_rate"]
        return body["numerator"], body["denominator"]

    assert await failures() == [("rollback:R0", None, None)]
    assert await rate() == (0, 1)
    admin = tokens.headers("root", "admin")
    assert (await client.post("/projections/rebuild", headers=admin)).status_code == 200
    assert await failures() == [("rollback:R0", None, None)]
    assert await rate() == (0, 1)
    await feed(client, [finished("L1", "lone", t(3, 20, 6), [], team="t1")])
    assert await failures() == [("rollback:R0", "L1", "rollback")]
    assert await rate() == (1, 2)


async def test_a_restoration_stamped_before_the_detection_counts_when_it_comes_later(
    client: Any, tokens: Tokens
) -> None:
    # The same clocks apart, but the restoration arrives in a later batch than the detection
    # (and on another environment than the failure's): still 0 s, as in one batch or a rebuild.
    await feed(client, [health_failed("HW", "svc", t(3, 12, 12))])
    late = restored("HW", "svc", t(3, 12, 11, 50))
    late = Envelope(data=late.data.model_copy(update={"environment": "dr"}), time=late.time)
    await feed(client, [late])
    day = {"from": "2026-03-12T00:00:00Z", "to": "2026-03-13T00:00:00Z"}
    expected = [("HW", 0.0, False)]
    rows = (await get(client, tokens, "/dora/failures", **day))["items"]
    assert [(r["failure_id"], r["recovery_seconds"], r["open"]) for r in rows] == expected
    admin = tokens.headers("root", "admin")
    assert (await client.post("/projections/rebuild", headers=admin)).status_code == 200
    rows = (await get(client, tokens, "/dora/failures", **day))["items"]
    assert [(r["failure_id"], r["recovery_seconds"], r["open"]) for r in rows] == expected


async def test_a_redescribed_deployment_takes_its_new_commits(client: Any, tokens: Tokens) -> None:
    # RD is first described carrying r1 (authored 1 h before), then again, by a later event in
    # a later batch, carrying r2 (authored 2 h before) instead: only r2 has a lead time,
    # 7200 s, also after a rebuild.
    day = {"from": "2026-03-22T00:00:00Z", "to": "2026-03-23T00:00:00Z", "service": "redo"}
    first = finished("RD", "redo", t(3, 22, 12), [commit("r1", t(3, 22, 11))], team="t1")
    redescribed = finished("RD", "redo", t(3, 22, 12), [commit("r2", t(3, 22, 10))], team="t1")
    again = Envelope(data=redescribed.data, time=t(3, 22, 13))

    async def leads() -> tuple[int, float | None]:
        body = (await get(client, tokens, "/dora", **day))["lead_time"]
        return body["n"], body["p50_seconds"]

    await feed(client, [first])
    assert await leads() == (1, 3600.0)
    await feed(client, [again])
    assert await leads() == (1, 7200.0)
    admin = tokens.headers("root", "admin")
    assert (await client.post("/projections/rebuild", headers=admin)).status_code == 200
    assert await leads() == (1, 7200.0)
