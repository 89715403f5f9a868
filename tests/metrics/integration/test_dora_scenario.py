"""The hand-computed scenario (tests/metrics/scenario.py) through the HTTP API, on each
database: exact DORA values, tiers and series, whatever the delivery order, delivered twice,
and after a rebuild."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from flightdeck.events.envelope import Envelope
from flightdeck.kit.testing import Tokens, context_of
from flightdeck.metrics.service.ingest import ingest
from tests.metrics import scenario

pytestmark = pytest.mark.usefixtures("backend")

OFFLINE = {"consumer_enabled": False, "relay_enabled": False}

# --- all teams ---------------------------------------------------------------------------
# Production deployments in the window (succeeded): checkout C1 C2 C3 C4 C5 C6 C7 (7),
# ledger L1 L2 (2; L3 failed, S1 is staging), catalog K1..K6 (6; K1's second copy is the same
# deployment) = 15. C0 finished before the window.
# per_day = 15 / 70 days.
# Deploy days: days 0 1 2 3 4 9 15 23 30 44 63. Per ISO week (Mondays day 0, 7, ... 63):
# 5, 1, 1, 1, 1, 0, 1, 0, 0, 1 -> sorted 0 0 0 1 1 1 1 1 1 5 -> median 1.0 (tier high: >= 1
# per week, < 5). Per month: January 8 (0 1 2 3 4 9 15 23), February 2 (30 44), March 1 (63)
# -> median 2.
# Lead times (authored -> first production deployment; each commit once, k5 at 0 s dropped,
# c0 deployed before the window, l3 only on staging): c1 86400, c2 43200, c3 7200, c4 39600,
# c5 172800, c6 86400, l1 86400, l2 43200, k1 21600, k2 86400, k3 3600, k4 7200, k6 259200.
# Sorted (n=13): 3600 7200 7200 21600 39600 43200 43200 86400 86400 86400 86400 172800 259200
# p50 = x[6] = 43200; p75 = x[9] = 86400; p90 = x[10.8] = 86400 + 0.8 * 86400 = 155520.
# Median 12 h < 1 day: elite.
# Failed deployments: C2 (HC1 names it), C3 (rolled back by C4; HC2 also within 24 h of it),
# C6 (HC3 4 h after it, once the late C6 arrived), L2 (HC4 names it) = 4 of 15: 0.2667, low.
# Recovery (detected health checks): HC1 restored after 1800 s; HC2 by the rollback C4 after
# 3600 s; HC3 restored after 7200 s (before C7); HC4 and HC5 open. Sorted 1800 3600 7200:
# p50 3600, p75 3600 + 0.5 * 3600 = 5400, p90 3600 + 0.8 * 3600 = 6480. 3600 is not < 1 h: high.
# Rework: C4 (rollback) and C5 (hotfix) = 2 of 15.
EVERYONE = {
    "deployment_frequency": {
        "count": 15,
        "per_day": 15 / 70,
        "deploy_days_per_week_median": 1.0,
        "deploy_days_per_month_median": 2.0,
        "tier": "high",
    },
    "lead_time": {
        "n": 13,
        "p50_seconds": 43200.0,
        "p75_seconds": 86400.0,
        "p90_seconds": 155520.0,
        "tier": "elite",
    },
    "change_failure_rate": {"numerator": 4, "denominator": 15, "value": 4 / 15, "tier": "low"},
    "recovery_time": {
        "n": 3,
        "open": 2,
        "p50_seconds": 3600.0,
        "p75_seconds": 5400.0,
        "p90_seconds": 6480.0,
        "tier": "high",
    },
    "rework_rate": {"numerator": 2, "denominator": 15, "value": 2 / 15},
}

# --- team payments (checkout, ledger: mapped from ReleasePlanned) ------------------------
# Deployments C1..C7, L1, L2 = 9. Deploy days 0 1 2 9 15 23 30 44: weeks 3 1 1 1 1 0 1 0 0 0
# -> sorted 0 0 0 0 1 1 1 1 1 3 -> median 1.0 (high); months 6, 2, 0 -> median 2.
# Lead times: 7200 39600 43200 43200 86400 86400 86400 172800 (n=8):
# p50 = x[3.5] = 43200 + 0.5 * 43200 = 64800; p75 = x[5.25] = 86400;
# p90 = x[6.3] = 86400 + 0.3 * 86400 = 112320. 18 h < 1 day: elite.
# Failed: C2 C3 C6 L2 = 4 of 9 (low). Recovery: HC1 HC2 HC3 as above, HC4 open.
# Rework: C4, C5 = 2 of 9.
PAYMENTS = {
    "deployment_frequency": {
        "count": 9,
        "per_day": 9 / 70,
        "deploy_days_per_week_median": 1.0,
        "deploy_days_per_month_median": 2.0,
        "tier": "high",
    },
    "lead_time": {
        "n": 8,
        "p50_seconds": 64800.0,
        "p75_seconds": 86400.0,
        "p90_seconds": 112320.0,
        "tier": "elite",
    },
    "change_failure_rate": {"numerator": 4, "denominator": 9, "value": 4 / 9, "tier": "low"},
    "recovery_time": {
        "n": 3,
        "open": 1,
        "p50_seconds": 3600.0,
        "p75_seconds": 5400.0,
        "p90_seconds": 6480.0,
        "tier": "high",
    },
    "rework_rate": {"numerator": 2, "denominator": 9, "value": 2 / 9},
}

# --- team search (catalog: declared on its deployments) ---------------------------------
# Deployments K1..K6 = 6. Deploy days 0 1 2 3 4 63: weeks 5 0 0 0 0 0 0 0 0 1 -> median 0;
# months 5, 0, 1 -> median 1: at least monthly, medium (2023).
# Lead times 3600 7200 21600 86400 259200 (k5 dropped): p50 21600, p75 x[3] = 86400,
# p90 x[3.6] = 86400 + 0.6 * 172800 = 190080: elite.
# No failed deployment: 0 of 6 (elite). HC5 is unattributed and open: n 0, open 1, nulls.
SEARCH = {
    "deployment_frequency": {
        "count": 6,
        "per_day": 6 / 70,
        "deploy_days_per_week_median": 0.0,
        "deploy_days_per_month_median": 1.0,
        "tier": "medium",
    },
    "lead_time": {
        "n": 5,
        "p50_seconds": 21600.0,
        "p75_seconds": 86400.0,
        "p90_seconds": 190080.0,
        "tier": "elite",
    },
    "change_failure_rate": {"numerator": 0, "denominator": 6, "value": 0.0, "tier": "elite"},
    "recovery_time": {
        "n": 0,
        "open": 1,
        "p50_seconds": None,
        "p75_seconds": None,
        "p90_seconds": None,
        "tier": None,
    },
    "rework_rate": {"numerator": 0, "denominator": 6, "value": 0.0},
}

# --- weekly series, all teams ------------------------------------------------------------
# Week 1 (days 0-6): C1 C2 L1 K1 K2 K3 K4 K5 = 8, 8/7 per day, 5 deploy days (elite).
# Lead: c1 86400, c2 43200, l1 86400, k1 21600, k2 86400, k3 3600, k4 7200 -> sorted
# 3600 7200 21600 43200 86400 86400 86400: p50 43200, p75 x[4.5] 86400, p90 x[5.4] 86400.
# Failed: C2 = 1 of 8 = 0.125 (medium, <= 15 %). Recovery: HC1 1800 s (elite). Rework 0 of 8.
WEEK_1 = {
    "bucket_start": "2026-01-05T00:00:00Z",
    "deployment_frequency": {
        "count": 8,
        "per_day": 8 / 7,
        "deploy_days_per_week_median": 5.0,
        "deploy_days_per_month_median": 5.0,
        "tier": "elite",
    },
    "lead_time": {
        "n": 7,
        "p50_seconds": 43200.0,
        "p75_seconds": 86400.0,
        "p90_seconds": 86400.0,
        "tier": "elite",
    },
    "change_failure_rate": {"numerator": 1, "denominator": 8, "value": 0.125, "tier": "medium"},
    "recovery_time": {
        "n": 1,
        "open": 0,
        "p50_seconds": 1800.0,
        "p75_seconds": 1800.0,
        "p90_seconds": 1800.0,
        "tier": "elite",
    },
    "rework_rate": {"numerator": 0, "denominator": 8, "value": 0.0},
}
# Week 2 (days 7-13): C3 and its rollback C4 = 2, one deploy day (high). Lead: c3 7200.
# Failed: C3 = 1 of 2 (low). Recovery: HC2 3600 s (high). Rework: C4 = 1 of 2.
WEEK_2 = {
    "bucket_start": "2026-01-12T00:00:00Z",
    "deployment_frequency": {
        "count": 2,
        "per_day": 2 / 7,
        "deploy_days_per_week_median": 1.0,
        "deploy_days_per_month_median": 1.0,
        "tier": "high",
    },
    "lead_time": {
        "n": 1,
        "p50_seconds": 7200.0,
        "p75_seconds": 7200.0,
        "p90_seconds": 7200.0,
        "tier": "elite",
    },
    "change_failure_rate": {"numerator": 1, "denominator": 2, "value": 0.5, "tier": "low"},
    "recovery_time": {
        "n": 1,
        "open": 0,
        "p50_seconds": 3600.0,
        "p75_seconds": 3600.0,
        "p90_seconds": 3600.0,
        "tier": "high",
    },
    "rework_rate": {"numerator": 1, "denominator": 2, "value": 0.5},
}
# Week 6 (days 35-41): nothing happened; zero-filled, nulls where there is nothing to measure.
WEEK_6 = {
    "bucket_start": "2026-02-09T00:00:00Z",
    "deployment_frequency": {
        "count": 0,
        "per_day": 0.0,
        "deploy_days_per_week_median": 0.0,
        "deploy_days_per_month_median": 0.0,
        "tier": "low",
    },
    "lead_time": {
        "n": 0,
        "p50_seconds": None,
        "p75_seconds": None,
        "p90_seconds": None,
        "tier": None,
    },
    "change_failure_rate": {"numerator": 0, "denominator": 0, "value": None, "tier": None},
    "recovery_time": {
        "n": 0,
        "open": 0,
        "p50_seconds": None,
        "p75_seconds": None,
        "p90_seconds": None,
        "tier": None,
    },
    "rework_rate": {"numerator": 0, "denominator": 0, "value": None},
}
WEEKLY_COUNTS = [8, 2, 1, 1, 1, 0, 1, 0, 0, 1]


async def feed(client: Any, envelopes: Sequence[Envelope[Any]], batch: int = 7) -> None:
    """Deliver events the way the consumer does: a batch at a time."""
    engine = context_of(client.app).engine
    for start in range(0, len(envelopes), batch):
        await ingest(engine, envelopes[start : start + batch], scenario.DAY0)


async def dora(client: Any, tokens: Tokens, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/dora", params={**scenario.WINDOW, **params}, headers=tokens.headers("ana", "viewer")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def blocks(body: dict[str, Any]) -> dict[str, Any]:
    names = ("deployment_frequency", "lead_time", "change_failure_rate", "recovery_time")
    return {name: body[name] for name in (*names, "rework_rate")}


def approx(expected: dict[str, Any]) -> Any:
    """Exact for integers and nulls; floats to 1e-12 (the ratios are computed divisions)."""
    return {
        name: {
            k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in block.items()
        }
        if isinstance(block, dict)
        else block
        for name, block in expected.items()
    }


async def everything(client: Any, tokens: Tokens) -> dict[str, Any]:
    """Every answer the scenario is checked by, for comparing runs."""
    answers: dict[str, Any] = {}
    for name, params in {
        "all": {"bucket": "week"},
        "payments": {"team": "payments"},
        "search": {"team": "search", "bucket": "month"},
        "merged": {"service": ["checkout"], "lead_time_start": "merged"},
    }.items():
        answers[name] = await dora(client, tokens, **params)
    viewer = tokens.headers("ana", "viewer")
    for path in ("/dora/deployments", "/dora/failures"):
        answers[path] = (await client.get(path, params=scenario.WINDOW, headers=viewer)).json()
    return answers


async def test_the_api_returns_the_hand_computed_figures(
    start_service: Any, tokens: Tokens
) -> None:
    async with start_service("metrics", **OFFLINE) as client:
        await feed(client, scenario.events())
        body = await dora(client, tokens, bucket="week")
        assert blocks(body) == approx(EVERYONE)
        assert body["window"] == {"from": "2026-01-05T00:00:00Z", "to": "2026-03-16T00:00:00Z"}
        assert body["benchmark"] == "2023"
        series = body["series"]
        assert [b["deployment_frequency"]["count"] for b in series] == WEEKLY_COUNTS
        for bucket, expected in ((series[0], WEEK_1), (series[1], WEEK_2), (series[5], WEEK_6)):
            assert {"bucket_start": bucket["bucket_start"], **blocks(bucket)} == {
                "bucket_start": expected["bucket_start"],
                **approx({k: v for k, v in expected.items() if k != "bucket_start"}),
            }
        assert blocks(await dora(client, tokens, team="payments")) == approx(PAYMENTS)
        assert blocks(await dora(client, tokens, team="search")) == approx(SEARCH)
        both = await dora(client, tokens, team=["payments", "search"])
        assert blocks(both) == approx(EVERYONE)


async def test_lead_time_from_merge_counts_only_merged_commits(
    start_service: Any, tokens: Tokens
) -> None:
    async with start_service("metrics", **OFFLINE) as client:
        await feed(client, scenario.events())
        # Only c4 carries merged_at (day 23 08:00), deployed by C5 at 10:00: one lead of 2 h.
        body = await dora(client, tokens, service="checkout", lead_time_start="merged")
        assert body["lead_time"] == {
            "n": 1,
            "p50_seconds": 7200.0,
            "p75_seconds": 7200.0,
            "p90_seconds": 7200.0,
            "tier": "elite",
        }
        # 2021 cut-offs, from authoring: checkout's leads 7200 39600 43200 86400 86400 172800
        # have a median of 64800 s, not < 1 h: high. Its 7 deployments are counted.
        old = await dora(client, tokens, service="checkout", benchmark="2021")
        assert old["benchmark"] == "2021"
        assert old["lead_time"]["tier"] == "high"
        assert old["deployment_frequency"]["count"] == 7


async def test_shuffled_and_duplicated_delivery_gives_the_same_answers(
    start_service: Any, tokens: Tokens
) -> None:
    events = scenario.events()
    async with start_service("metrics", **OFFLINE) as ordered:
        await feed(ordered, events)
        expected = await everything(ordered, tokens)
    shuffled = list(events)
    random.Random(5).shuffle(shuffled)
    async with start_service("metrics", **OFFLINE) as client:
        await feed(client, shuffled, batch=5)
        assert await everything(client, tokens) == expected
        await feed(client, list(reversed(events)), batch=11)  # everything delivered again
        assert await everything(client, tokens) == expected
        status = (
            await client.get("/projections/status", headers=tokens.headers("o", "viewer"))
        ).json()
        assert status["events"] == len({e.id for e in events})


async def test_rebuild_equals_incremental(start_service: Any, tokens: Tokens) -> None:
    async with start_service("metrics", **OFFLINE) as client:
        await feed(client, scenario.events(), batch=3)
        incremental = await everything(client, tokens)
        response = await client.post(
            "/projections/rebuild", headers=tokens.headers("root", "admin")
        )
        assert response.status_code == 200, response.text
        assert response.json()["projections"]["deployments"] == 18  # every deployment, any tier
        assert await everything(client, tokens) == incremental
        assert blocks(incremental["all"]) == approx(EVERYONE)
        assert await schema_drift(client) == []  # swapped tables keep their keys and indexes
        await feed(client, [scenario.health_failed("HC6", "ledger", scenario.at(16))])
        after = await dora(client, tokens, team="payments")
        assert after["recovery_time"]["open"] == 2  # ingest goes on into the swapped tables


async def schema_drift(client: Any) -> list[Any]:
    """Differences between the metrics tables in the database and `db/tables.py`."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from flightdeck.metrics.db.tables import metadata

    def compare(sync: Any) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        ours = set(metadata.tables)
        return [d for d in compare_metadata(context, metadata) if _table_of(d) in ours]

    async with context_of(client.app).engine.connect() as conn:
        return await conn.run_sync(compare)


def _table_of(difference: Any) -> str | None:
    """The table an Alembic difference is about (None when it cannot tell)."""
    if isinstance(difference, list):  # column modifications come as lists
        return str(difference[0][2])
    subject = difference[1]
    table = getattr(subject, "table", subject)
    return getattr(table, "name", None)


async def test_rebuild_needs_the_admin_role(start_service: Any, tokens: Tokens) -> None:
    async with start_service("metrics", **OFFLINE) as client:
        response = await client.post("/projections/rebuild", headers=tokens.headers("v", "viewer"))
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
