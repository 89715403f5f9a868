"""`Idempotency-Key` for POSTs: a retried request with the same key gets the first response.

Keys are scoped by the caller's credentials; reusing a key for a different request is a 422,
and a retry that arrives while the first is still running gets a 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flightdeck.kit.http import header, send_problem
from flightdeck.kit.problems import Problem
from flightdeck.kit.tables import idempotency_keys

IN_PROGRESS_TIMEOUT = timedelta(minutes=2)
NOT_STORED = frozenset({401, 403})


class Outcome(Enum):
    NEW = "new"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class IdempotencyStore:
    """Keys and their responses in the service's own database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    async def begin(self, scope: str, key: str, fingerprint: str) -> tuple[Outcome, Stored | None]:
        """Claim the key, or say what happened to it before."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            claimed = await conn.execute(
                self._insert(idempotency_keys)
                .values(
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    state="in_progress",
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
            if claimed.rowcount:
                return Outcome.NEW, None
            row = (
                await conn.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                    )
                )
            ).one()
            if row.fingerprint != fingerprint:
                return Outcome.MISMATCH, None
            if row.state == "done":
                stored = Stored(row.status, [tuple(h) for h in json.loads(row.headers)], row.body)
                return Outcome.REPLAY, stored
            created = (
                row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            )
            if now - created > IN_PROGRESS_TIMEOUT:  # the first attempt died: let this one run
                await conn.execute(
                    update(idempotency_keys)
                    .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
                    .values(created_at=now)
                )
                return Outcome.NEW, None
            return Outcome.IN_PROGRESS, None

    async def finish(self, scope: str, key: str, response: Stored) -> None:
        """Keep the response for replays."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
                .values(
                    state="done",
                    status=response.status,
                    headers=json.dumps(response.headers),
                    body=response.body,
                )
            )

    async def abandon(self, scope: str, key: str) -> None:
        """Forget the key so that a retry runs again."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
                )
            )

    async def purge(self, older_than: datetime) -> None:
        """Drop keys past their retention."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < older_than)
            )


REPLAYED_HEADERS = frozenset({"content-type", "location", "etag"})


class IdempotentPosts:
    """ASGI middleware applying `Idempotency-Key` to every POST."""

    def __init__(self, app: ASGIApp, *, store: Callable[[], IdempotencyStore | None]) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, b"idempotency-key") if scope["type"] == "http" else None
        store = self.store() if key is not None and scope["method"] == "POST" else None
        if key is None or store is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            problem = Problem(
                422, "Idempotency-Key must be 1 to 255 characters", slug="invalid-idempotency-key"
            )
            await send_problem(scope, receive, send, problem)
            return
        body = await _read_body(receive)
        caller = hashlib.sha256((header(scope, b"authorization") or "").encode()).hexdigest()
        fingerprint = hashlib.sha256(
            b"\n".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    body,
                ]
            )
        ).hexdigest()
        outcome, stored = await store.begin(caller, key, fingerprint)
        if outcome is Outcome.REPLAY and stored is not None:
            await _replay(send, stored)
        elif outcome is Outcome.MISMATCH:
            problem = Problem(
                422,
                "this Idempotency-Key was used for a different request",
                slug="idempotency-key-reused",
            )
            await send_problem(scope, receive, send, problem)
        elif outcome is Outcome.IN_PROGRESS:
            problem = Problem(
                409,
                "a request with this Idempotency-Key is still running",
                slug="idempotency-key-in-progress",
            )
            await send_problem(scope, receive, send, problem)
        else:
            await self._run(scope, body, send, store, caller, key)

    async def _run(
        self, scope: Scope, body: bytes, send: Send, store: IdempotencyStore, caller: str, key: str
    ) -> None:
        status = 500
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend(
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in REPLAYED_HEADERS
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            if status < 500 and status not in NOT_STORED:
                await store.finish(caller, key, Stored(status, headers, b"".join(chunks)))
            else:
                await store.abandon(caller, key)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _replay(send: Send, stored: Stored) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((b"idempotent-replayed", b"true"))
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
