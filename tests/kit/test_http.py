"""What every service answers over HTTP: auth, problems, limits, idempotency, health."""

from __future__ import annotations

import json
from typing import Any

from flightdeck.kit.testing import Tokens, context_of
from tests.kit import sample

ENTRY = {
    "name": "spring",
    "version": "1.4.0",
    "planned_start": "2026-04-01T10:00:00+02:00",
    "planned_end": "2026-04-01T12:00:00+02:00",
}


async def ledger_size(client: Any) -> int:
    async with context_of(client.app).engine.connect() as conn:
        from sqlalchemy import func, select

        return int(await conn.scalar(select(func.count()).select_from(sample.ledger)) or 0)


async def outbox_size(client: Any) -> int:
    from sqlalchemy import func, select

    from flightdeck.events.tables import outbox

    async with context_of(client.app).engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(outbox)) or 0)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://flightdeck.dev/problems/")
    assert body["title"]
    assert body["detail"]
    return body


async def test_write_is_stored_attributed_and_staged(start_sample: Any, tokens: Tokens) -> None:
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        response = await client.post(
            "/ledger", json=ENTRY, headers=tokens.headers("rita", "releaser")
        )
        assert response.status_code == 201
        assert await ledger_size(client) == 1
        assert await outbox_size(client) == 1


async def test_no_token_is_401_and_nothing_stored(start_sample: Any) -> None:
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        body = assert_problem(await client.post("/ledger", json=ENTRY), 401)
        assert "bearer token" in body["detail"]
        bad = await client.post("/ledger", json=ENTRY, headers={"Authorization": "Bearer fd_nope"})
        assert_problem(bad, 401)
        assert bad.headers["www-authenticate"] == "Bearer"
        assert await ledger_size(client) == 0
        assert await outbox_size(client) == 0


async def test_wrong_role_is_403_and_nothing_stored(start_sample: Any, tokens: Tokens) -> None:
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        response = await client.post("/ledger", json=ENTRY, headers=tokens.headers("vic", "viewer"))
        body = assert_problem(response, 403)
        assert "releaser" in body["detail"]
        assert await ledger_size(client) == 0
        reader = await client.get("/ledger", headers=tokens.headers("vic", "viewer"))
        assert reader.status_code == 200


async def test_admin_holds_every_role(start_sample: Any, tokens: Tokens) -> None:
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        response = await client.post("/ledger", json=ENTRY, headers=tokens.headers("root", "admin"))
        assert response.status_code == 201


async def test_oversized_body_is_413_before_parsing(start_sample: Any, tokens: Tokens) -> None:
    headers = tokens.headers("rita", "releaser")
    async with start_sample(
        relay_enabled=False, consumer_enabled=False, max_body_bytes=2048
    ) as client:
        padded = {**ENTRY, "name": "x" * 5000}
        assert_problem(await client.post("/ledger", json=padded, headers=headers), 413)

        async def chunks() -> Any:
            for _ in range(10):
                yield b" " * 1000

        streamed = await client.post(
            "/ledger", content=chunks(), headers={**headers, "content-type": "application/json"}
        )
        assert_problem(streamed, 413)
        assert await ledger_size(client) == 0


async def test_naive_datetime_and_missing_field_are_422(start_sample: Any, tokens: Tokens) -> None:
    headers = tokens.headers("rita", "releaser")
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        naive = {**ENTRY, "planned_start": "2026-04-01T10:00:00"}
        body = assert_problem(await client.post("/ledger", json=naive, headers=headers), 422)
        assert [e["location"] for e in body["errors"]] == ["body.planned_start"]
        missing = {k: v for k, v in ENTRY.items() if k != "version"}
        body = assert_problem(await client.post("/ledger", json=missing, headers=headers), 422)
        assert body["errors"][0]["location"] == "body.version"
        assert body["errors"][0]["type"] == "missing"
        broken = await client.post(
            "/ledger", content=b"{not json", headers={**headers, "content-type": "application/json"}
        )
        assert_problem(broken, 422)
        assert await ledger_size(client) == 0
        assert await outbox_size(client) == 0


async def test_non_json_body_is_415(start_sample: Any, tokens: Tokens) -> None:
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        response = await client.post(
            "/ledger",
            content=b"name=x",
            headers={
                **tokens.headers("rita", "releaser"),
                "content-type": "application/x-www-form-urlencoded",
            },
        )
        assert_problem(response, 415)


async def test_unknown_route_and_method_are_problems(start_sample: Any) -> None:
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        assert_problem(await client.get("/nowhere"), 404)
        assert_problem(await client.put("/ledger", json={}), 405)


async def test_idempotency_key_replays_the_first_response(
    start_sample: Any, tokens: Tokens
) -> None:
    headers = {**tokens.headers("rita", "releaser"), "Idempotency-Key": "create-spring-1"}
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        first = await client.post("/ledger", json=ENTRY, headers=headers)
        again = await client.post("/ledger", json=ENTRY, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert await ledger_size(client) == 1
        assert await outbox_size(client) == 1

        other = await client.post("/ledger", json={**ENTRY, "name": "autumn"}, headers=headers)
        body = assert_problem(other, 422)
        assert "different request" in body["detail"]

        someone_else = {**tokens.headers("sam", "releaser"), "Idempotency-Key": "create-spring-1"}
        assert (await client.post("/ledger", json=ENTRY, headers=someone_else)).status_code == 201
        assert await ledger_size(client) == 2


async def test_health_readiness_and_metrics(start_sample: Any, tokens: Tokens) -> None:
    async with start_sample(consumer_enabled=False) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        await client.post("/ledger", json=ENTRY, headers=tokens.headers("rita", "releaser"))
        metrics = (await client.get("/metrics")).text
        assert (
            'flightdeck_http_requests_total{method="POST",route="/ledger",status="201"} 1.0'
            in metrics
        )
        assert "flightdeck_outbox_pending" in metrics
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Sample"


async def test_concurrent_retries_with_one_key_store_once(
    start_sample: Any, tokens: Tokens
) -> None:
    import asyncio

    headers = {**tokens.headers("rita", "releaser"), "Idempotency-Key": "burst-1"}
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        responses = await asyncio.gather(
            *(client.post("/ledger", json=ENTRY, headers=headers) for _ in range(5))
        )
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}
        assert 201 in statuses
        assert await ledger_size(client) == 1
        final = await client.post("/ledger", json=ENTRY, headers=headers)
        assert final.status_code == 201
        assert final.headers["idempotent-replayed"] == "true"


async def test_each_request_leaves_an_access_line_naming_the_caller(
    start_sample: Any, tokens: Tokens
) -> None:
    import logging

    lines: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record)

    handler = Collect()
    logging.getLogger("flightdeck.access").addHandler(handler)
    try:
        async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
            await client.post("/ledger", json=ENTRY, headers=tokens.headers("rita", "releaser"))
            await client.get("/ledger")
    finally:
        logging.getLogger("flightdeck.access").removeHandler(handler)
    created, refused = lines
    assert (created.route, created.status, created.subject) == ("/ledger", 201, "rita")
    assert (refused.status, refused.subject) == (401, None)
    assert created.duration_ms >= 0


async def test_nul_characters_are_422_wherever_they_come(start_sample: Any, tokens: Tokens) -> None:
    writer = tokens.headers("rita", "releaser")
    async with start_sample(relay_enabled=False, consumer_enabled=False) as client:
        escaped = json.dumps({**ENTRY, "name": "spr\x00ing"}).encode()
        assert b"\\u0000" in escaped
        response = await client.post(
            "/ledger", content=escaped, headers={**writer, "Content-Type": "application/json"}
        )
        body = assert_problem(response, 422)
        assert [error["location"] for error in body["errors"]] == ["body.name"]
        listed = await client.get("/ledger", params={"name": "a\x00b"}, headers=writer)
        assert assert_problem(listed, 422)["errors"][0]["location"] == "query.name"
        assert assert_problem(await client.get("/ledger%00", headers=writer), 422)
        assert await ledger_size(client) == 0
        # An escaped backslash followed by "u0000" is text, not a NUL: accepted and kept as is.
        literal = {**ENTRY, "name": "C:\\u0000"}
        response = await client.post("/ledger", json=literal, headers=writer)
        assert response.status_code == 201, response.text
        assert response.json()["name"] == "C:\\u0000"
