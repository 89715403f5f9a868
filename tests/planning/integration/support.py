"""What the planning API tests share: example bodies and a release made ready to scope."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from flightdeck.events.tables import outbox
from flightdeck.kit.testing import Tokens, context_of

RELEASE = {
    "name": "Spring checkout",
    "version": "2.4.0",
    "services": ["checkout", "payments"],
    "team": "payments",
    "target_environment": "production",
    "planned_start": "2026-04-14T08:00:00+02:00",
    "planned_end": "2026-04-14T12:00:00+02:00",
    "owner": "olga",
}

COMMIT = {
    "repo": "shop/checkout",
    "sha": "a1b2c3d4",
    "authored_at": "2026-04-01T10:00:00Z",
    "merged_at": "2026-04-02T10:00:00Z",
}

CRITERIA = [
    {"metric": "error_rate", "comparator": "gt", "threshold": 0.02, "window_seconds": 300},
    {"metric": "p99_latency_ms", "comparator": "gte", "threshold": 800, "window_seconds": 600},
]

TOGGLE = {
    "key": "new-checkout",
    "owner": "olga",
    "default": False,
    "remove_by": "2026-06-30",
    "description": "The one-page checkout",
}


REQUIRED = ("dev", "qa", "ops")


class Planning:
    """A client for the planning API acting as a releaser and approvers."""

    def __init__(self, client: httpx.AsyncClient, tokens: Tokens) -> None:
        self.client = client
        self.releaser = tokens.headers("rita", "releaser")
        self.viewer = tokens.headers("vic", "viewer")
        self.tokens = tokens

    def approver(self, name: str) -> dict[str, str]:
        return self.tokens.headers(name, "approver")

    async def plan(self, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/releases", json={**RELEASE, **overrides}, headers=self.releaser
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def item(self, release_id: str, **fields: Any) -> dict[str, Any]:
        body = {"kind": "feature", "priority": 3, "regulatory": False, **fields}
        response = await self.client.post(
            f"/releases/{release_id}/items", json=body, headers=self.releaser
        )
        assert response.status_code == 201, response.text
        item: dict[str, Any] = response.json()
        return item

    async def sign(self, release_id: str, function: str, decision: str = "approve") -> None:
        response = await self.client.post(
            f"/releases/{release_id}/signoffs",
            json={"function": function, "decision": decision, "note": f"{function} {decision}"},
            headers=self.approver(f"{function}-lead"),
        )
        assert response.status_code == 201, response.text

    async def ready(
        self, release_id: str, *, functions: tuple[str, ...] = ("dev", "qa", "ops")
    ) -> None:
        """Criteria, the toggle and sign-offs: everything freezing the scope needs."""
        response = await self.client.put(
            f"/releases/{release_id}/rollback-criteria", json=CRITERIA, headers=self.releaser
        )
        assert response.status_code == 200, response.text
        response = await self.client.post(
            f"/releases/{release_id}/toggles", json=TOGGLE, headers=self.releaser
        )
        assert response.status_code == 201, response.text
        for function in functions:
            await self.sign(release_id, function)

    async def get(self, release_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/releases/{release_id}", headers=self.viewer)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def scope(self, release_id: str) -> httpx.Response:
        return await self.client.post(f"/releases/{release_id}/scope", headers=self.releaser)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a refused request."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def count(client: httpx.AsyncClient, table: Any) -> int:
    """Rows in a table of the service's database."""
    async with context_of(client.app).engine.connect() as conn:  # type: ignore[attr-defined]
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def staged_types(client: httpx.AsyncClient) -> list[str]:
    """The `ce_type` of every event staged in the outbox, in order."""
    async with context_of(client.app).engine.connect() as conn:  # type: ignore[attr-defined]
        rows = (await conn.execute(select(outbox.c.headers).order_by(outbox.c.id))).all()
    return [_header(row.headers, "ce_type") for row in rows]


def _header(headers: Any, name: str) -> str:
    for key, value in headers:
        if key == name:
            return str(value)
    raise KeyError(name)
