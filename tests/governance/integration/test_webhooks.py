"""Outbound webhooks: durable, signed, retried until the receiver answers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from typing import Any

import orjson

from flightdeck.kit.testing import Tokens
from tests.governance.integration.support import assert_problem, change_body, count_rows

SECRET = "s3cret-shared-with-the-itsm-tool"
RETRYING = {
    "webhook_poll_seconds": 0.05,
    "webhook_backoff_seconds": 0.1,
    "webhook_backoff_cap_seconds": 0.3,
}


class Receiver:
    """A tiny HTTP server that records what it is sent and answers 204."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        fields = [line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line]
        headers = {name.lower(): value for name, value in fields}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append((headers, body))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        async with server:
            yield


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_delivery_is_retried_until_the_receiver_is_up(
    governance: Any, tokens: Tokens
) -> None:
    from flightdeck.events.testing import eventually

    receiver = Receiver(_free_port())
    admin = tokens.headers("root", "admin")
    async with governance(**RETRYING) as client:
        subscription = await client.post(
            "/subscriptions",
            json={
                "url": f"http://127.0.0.1:{receiver.port}/hooks/flightdeck",
                "secret": SECRET,
                "event_types": [
                    "flightdeck.change.requested.v1",
                    "flightdeck.change.state_changed.v1",
                ],
            },
            headers=admin,
        )
        assert subscription.status_code == 201, subscription.text
        assert "secret" not in subscription.json()
        deliveries_url = f"/subscriptions/{subscription.json()['id']}/deliveries"
        created = await client.post(
            "/changes", json=change_body(), headers=tokens.headers("rita", "releaser")
        )
        assert created.status_code == 201

        async def failed_twice() -> bool:
            rows = (await client.get(deliveries_url, headers=admin)).json()
            return len(rows) == 3 and all(r["attempts"] >= 2 and r["last_error"] for r in rows)

        await eventually(failed_twice)
        async with receiver.listening():

            async def delivered() -> bool:
                rows = (await client.get(deliveries_url, headers=admin)).json()
                return all(r["delivered_at"] for r in rows)

            await eventually(delivered)
        assert len(receiver.received) == 3
        types = sorted(orjson.loads(body)["type"] for _, body in receiver.received)
        assert types == [
            "flightdeck.change.requested.v1",
            "flightdeck.change.state_changed.v1",
            "flightdeck.change.state_changed.v1",
        ]
        for headers, body in receiver.received:
            expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-flightdeck-signature"] == f"sha256={expected}"
            assert orjson.loads(body)["subject"] == created.json()["id"]


async def test_subscription_needs_an_http_url_and_known_types(
    governance: Any, tokens: Tokens
) -> None:
    admin = tokens.headers("root", "admin")
    valid = {"url": "https://itsm.example/hook", "secret": SECRET, "event_types": []}
    async with governance() as client:
        for body in (
            {
                **valid,
                "url": "ftp://itsm.example/hook",
                "event_types": ["flightdeck.change.closed.v1"],
            },
            {**valid, "event_types": ["flightdeck.change.exploded.v1"]},
            {**valid, "secret": "short", "event_types": ["flightdeck.change.closed.v1"]},
        ):
            assert_problem(await client.post("/subscriptions", json=body, headers=admin), 422)
        forbidden = await client.post(
            "/subscriptions",
            json={**valid, "event_types": ["flightdeck.change.closed.v1"]},
            headers=tokens.headers("ann", "cab"),
        )
        assert_problem(forbidden, 403)
        assert await count_rows(client, "webhook_subscriptions") == 0
        assert await count_rows(client, "audit_records") == 0


async def test_unsubscribing_is_audited_and_unknown_receivers_are_404(
    governance: Any, tokens: Tokens
) -> None:
    admin = tokens.headers("root", "admin")
    body = {
        "url": "https://itsm.example/hook",
        "secret": SECRET,
        "event_types": ["flightdeck.change.closed.v1"],
    }
    async with governance() as client:
        created = (await client.post("/subscriptions", json=body, headers=admin)).json()
        gone = await client.delete(f"/subscriptions/{created['id']}", headers=admin)
        assert gone.status_code == 204
        trail = await client.get(f"/audit?subject=subscription:{created['id']}", headers=admin)
        assert [(r["action"], r["actor"]) for r in trail.json()["items"]] == [
            ("subscribed", "root"),
            ("unsubscribed", "root"),
        ]
        assert (await client.get("/audit/verify", headers=admin)).json()["ok"] is True
        assert_problem(await client.delete(f"/subscriptions/{created['id']}", headers=admin), 404)
        unknown = await client.get(f"/subscriptions/{created['id']}/deliveries", headers=admin)
        assert_problem(unknown, 404)
