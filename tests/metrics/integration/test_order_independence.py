"""Projections do not depend on delivery order: a random history (rollbacks with and without
`rollback_of`, named and unnamed health checks, restorations, deployments described again
later with another finish time) gives the same answers in time order, shuffled in small
batches, and after a rebuild."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text

from flightdeck.events.envelope import Envelope
from flightdeck.kit.testing import Tokens, context_of
from flightdeck.metrics.db.projector import PROJECTION_LOCK
from flightdeck.metrics.db.tables import event_log
from flightdeck.metrics.service.ingest import ingest
from tests.metrics import scenario
from tests.metrics.integration.test_dora_scenario import OFFLINE, feed

pytestmark = pytest.mark.usefixtures("backend")

WINDOW = {"from": "2026-01-04T00:00:00Z", "to": "2026-01-20T00:00:00Z"}


def random_history(seed: int) -> list[Envelope[Any]]:
    """About 150 events over 12 days on two services and two environments."""
    rng = random.Random(seed)
    events: list[Envelope[Any]] = []
    deployed: list[str] = []
    for n in range(80):
        service = rng.choice(["checkout", "ledger"])
        tier = "production" if rng.random() < 0.8 else "staging"
        when = scenario.at(rng.uniform(0, 12))
        ident = f"D{n}"
        commits = [
            scenario.commit(f"s{rng.randrange(60)}", when - timedelta(hours=rng.uniform(1, 48)))
        ]
        rollback = rng.random() < 0.15
        envelope = scenario.finished(
            ident,
            service,
            when,
            [] if rollback else commits,
            team="payments" if rng.random() < 0.5 else None,
            tier=tier,
            rollback=rollback,
            outcome="succeeded" if rng.random() < 0.9 else "failed",
            unplanned=rng.random() < 0.1,
        )
        if rollback and deployed and rng.random() < 0.5:
            data = envelope.data.model_copy(update={"rollback_of": rng.choice(deployed)})
            envelope = Envelope(data=data, time=envelope.time)
        events.append(envelope)
        deployed.append(ident)
        if rng.random() < 0.1:  # described again later, finishing an hour later
            again = envelope.data.model_copy(update={"finished_at": when + timedelta(hours=1)})
            events.append(Envelope(data=again, time=envelope.time + timedelta(minutes=5)))
        if rng.random() < 0.3:
            detected = when + timedelta(hours=rng.uniform(0, 40))
            named = ident if rng.random() < 0.4 else None
            failure = scenario.health_failed(f"H{n}", service, detected, deployment_id=named)
            events.append(failure)
            if rng.random() < 0.5:
                restored_at = detected + timedelta(minutes=rng.uniform(5, 600))
                events.append(scenario.restored(f"H{n}", service, restored_at))
    plan = scenario.release_events()[0]
    return sorted([plan, *events], key=lambda envelope: envelope.time)


async def answers(client: Any, tokens: Tokens) -> dict[str, Any]:
    viewer = tokens.headers("ana", "viewer")
    found: dict[str, Any] = {}
    for name, params in {
        "production": {"bucket": "day"},
        "staging": {"environment_tier": "staging", "bucket": "week"},
        "payments": {"team": "payments"},
    }.items():
        found[name] = (
            await client.get("/dora", params={**WINDOW, **params}, headers=viewer)
        ).json()
    for path in ("/dora/deployments", "/dora/failures"):
        params = {**WINDOW, "limit": 500}
        found[path] = (await client.get(path, params=params, headers=viewer)).json()
    return found


@pytest.mark.parametrize(("seed", "batch"), [(1, 4), (2, 4), (1, 60)])
async def test_any_order_and_a_rebuild_give_the_same_answers(
    start_service: Any, tokens: Tokens, seed: int, batch: int
) -> None:
    """Small batches touch a few moments each; batches of 60 shuffled events touch many
    services, environments and days at once, so spans of touched time merge and split."""
    history = random_history(seed)
    async with start_service("metrics", **OFFLINE) as ordered:
        await feed(ordered, history, batch=9)
        expected = await answers(ordered, tokens)
    assert expected["production"]["change_failure_rate"]["numerator"] > 0
    assert expected["production"]["recovery_time"]["n"] > 0
    shuffled = list(history)
    random.Random(seed).shuffle(shuffled)
    async with start_service("metrics", **OFFLINE) as client:
        await feed(client, shuffled, batch=batch)
        assert await answers(client, tokens) == expected
        admin = tokens.headers("root", "admin")
        assert (await client.post("/projections/rebuild", headers=admin)).status_code == 200
        assert await answers(client, tokens) == expected


async def test_batches_mixing_redelivered_and_new_events_give_the_same_answers(
    start_service: Any, tokens: Tokens
) -> None:
    """A redelivered event may share a batch with new ones; PostgreSQL merges the facts of the
    whole batch without telling the already logged ones apart, which must change nothing
    (a later description, an earlier claim or a failure already counted is recognised)."""
    history = random_history(3)
    async with start_service("metrics", **OFFLINE) as ordered:
        await feed(ordered, history, batch=9)
        expected = await answers(ordered, tokens)
    rng = random.Random(3)
    shuffled = list(history)
    rng.shuffle(shuffled)
    async with start_service("metrics", **OFFLINE) as client:
        delivered: list[Envelope[Any]] = []
        for start in range(0, len(shuffled), 7):
            new = shuffled[start : start + 7]
            batch = [*(event for event in delivered if rng.random() < 0.3), *new]
            rng.shuffle(batch)
            engine = context_of(client.app).engine
            assert await ingest(engine, batch, scenario.DAY0) == len(new)
            delivered += new
        assert await answers(client, tokens) == expected


async def test_claims_at_the_same_time_go_to_the_greater_ce_id_before_and_after_a_rebuild(
    start_service: Any, tokens: Tokens
) -> None:
    """Two deployments name checkout's team at the same event time: the claim with the
    bytewise greater ce_id wins ('b…' over 'B…' and 'a…'), in ingest and in the rebuild's SQL."""
    when = scenario.at(1)
    claims = [
        scenario.finished("T1", "checkout", when, [], team="alpha", event_id="b-claim"),
        scenario.finished("T2", "checkout", when, [], team="beta", event_id="B-claim"),
        scenario.finished("T3", "checkout", when, [], team="gamma", event_id="a-claim"),
    ]
    assert {claim.time for claim in claims} == {when}  # published at their finish time
    undeclared = scenario.finished("T4", "checkout", when + timedelta(hours=1), [])
    # Written after every claim: takes the team the service holds then, not a recomputed one.
    last = scenario.finished("T5", "checkout", when + timedelta(hours=2), [])

    async def teams(client: Any) -> dict[str, str]:
        rows = (
            await client.get(
                "/dora/deployments",
                params={**WINDOW, "service": "checkout"},
                headers=tokens.headers("ana", "viewer"),
            )
        ).json()["items"]
        return {
            row["deployment_id"]: row["team"]
            for row in rows
            if row["deployment_id"] in ("T4", "T5")
        }

    async with start_service("metrics", **OFFLINE) as client:
        await feed(client, [claims[1], undeclared, claims[0], claims[2], last], batch=1)
        assert await teams(client) == {"T4": "alpha", "T5": "alpha"}
        admin = tokens.headers("root", "admin")
        assert (await client.post("/projections/rebuild", headers=admin)).status_code == 200
        assert await teams(client) == {"T4": "alpha", "T5": "alpha"}


async def test_batches_ingested_concurrently_give_the_same_answers(
    start_service: Any, tokens: Tokens, backend: str
) -> None:
    """On PostgreSQL the consumer hands a batch over while the one before is still in its
    transaction (the second stages its rows, then waits for the projection lock). Shuffled
    batches, two at a time, some events in both (in opposite orders), give what one batch at a
    time gave."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: the consumer handles one batch at a time")
    history = random_history(3)
    async with start_service("metrics", **OFFLINE) as ordered:
        await feed(ordered, history, batch=9)
        expected = await answers(ordered, tokens)
    shuffled = list(history)
    random.Random(3).shuffle(shuffled)
    batches = [shuffled[start : start + 12] for start in range(0, len(shuffled), 12)]
    async with start_service("metrics", **OFFLINE) as client:
        engine = context_of(client.app).engine
        for n in range(0, len(batches), 2):
            first, second = batches[n], batches[n + 1] if n + 1 < len(batches) else []
            both = [*first, *second[:2]]  # the second batch's first events come twice
            await asyncio.gather(
                ingest(engine, both, scenario.DAY0), ingest(engine, second[::-1], scenario.DAY0)
            )
        assert await answers(client, tokens) == expected


async def test_a_reader_of_the_log_never_sees_an_event_appear_behind_its_cursor(
    start_service: Any, tokens: Tokens, backend: str
) -> None:
    """Batches append to the log before taking the projection lock, so an older transaction
    may commit after a younger one. `/events` lists the log in transaction order up to the
    oldest transaction still running: while the older batch waits for the lock, a reader sees
    neither its events nor the younger ones; once it commits, both come after the cursor."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises whole transactions")
    history = random_history(4)
    viewer = tokens.headers("ana", "viewer")
    lock = {"key": PROJECTION_LOCK}

    async def after(cursor: str) -> list[str]:
        params = {"cursor": cursor, "limit": 500}
        body = (await client.get("/events", params=params, headers=viewer)).json()
        return [item["id"] for item in body["items"]]

    async with start_service("metrics", **OFFLINE) as client:
        engine = context_of(client.app).engine
        assert await ingest(engine, history[:10], scenario.DAY0) == 10
        first = (await client.get("/events", params={"limit": 5}, headers=viewer)).json()
        cursor = first["next_cursor"]
        earlier = await after(cursor)
        assert earlier == [event.id for event in history[5:10]]
        async with engine.connect() as holder, engine.connect() as observer:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), lock)
            await holder.commit()
            older = asyncio.create_task(ingest(engine, history[10:30], scenario.DAY0))
            waiting = text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            for _ in range(200):
                waiter = await observer.scalar(waiting)
                await observer.rollback()
                if waiter is not None:
                    break
                await asyncio.sleep(0.05)
            assert waiter is not None, "the batch never waited for the projection lock"
            younger = history[30]
            row = {
                "event_id": younger.id,
                "type": younger.type,
                "subject": younger.subject,
                "source": younger.source,
                "time": younger.time,
                "data": younger.data.model_dump(mode="json"),
                "recorded_at": scenario.DAY0,
            }
            async with engine.begin() as writer:  # appends and commits before the older one
                await writer.execute(insert(event_log).values(row))
            assert await after(cursor) == earlier
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
            await holder.commit()
            assert await asyncio.wait_for(older, 30) == 20
        appended = [event.id for event in history[10:30]]
        assert await after(cursor) == [*earlier, *appended, younger.id]
