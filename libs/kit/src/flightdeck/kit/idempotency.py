"""`Idempotency-Key` for POSTs: a retried request with the same key gets the first response.

- Keys are scoped by the authenticated token; a request without a valid token is not
  deduplicated (it gets its 401). Webhook paths deduplicate by the sender's delivery id instead.
- The same key with a different request (body, path, content type, If-Match) is a 422.
- A retry that arrives while the first attempt runs gets a 409.
- The key row is claimed by one attempt (`attempt`). The unit of work (or
  `ServiceContext.transaction`) marks it `committed` in the same transaction as the use case's
  changes, so an attempt that was given up on (after `IN_PROGRESS_TIMEOUT`) can never commit
  after its replacement, and a request whose changes committed is never run again, even if
  recording its response failed (retries then get 409 "unrecorded").
- Responses larger than `MAX_STORED_BYTES` (exports) are not kept: a retry of a request that
  changed nothing simply runs again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flightdeck.kit.auth import TokenStore
from flightdeck.kit.http import header, send_problem, under
from flightdeck.kit.problems import Problem
from flightdeck.kit.tables import idempotency_keys

log = logging.getLogger(__name__)

IN_PROGRESS_TIMEOUT = timedelta(minutes=2)
MAX_STORED_BYTES = 1024 * 1024
NOT_STORED = frozenset({401, 403})
REPLAYED_HEADERS = frozenset({"content-type", "location", "etag"})


class Outcome(Enum):
    NEW = "new"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_PROGRESS = "in_progress"
    UNRECORDED = "unrecorded"


@dataclass(slots=True, eq=False)
class Claim:
    """The key one attempt holds while its request is served.

    Only the request's own task, while the request is open, confirms the claim: a task the
    request started (which inherits the context) commits as if no key had been sent.
    """

    scope: str
    key: str
    attempt: str
    task: asyncio.Task[object] | None = None
    open: bool = True
    committed: bool = False
    finished: bool = field(default=False)

    def active(self) -> bool:
        """Whether the caller is this request, still being served."""
        try:
            return self.open and asyncio.current_task() is self.task
        except RuntimeError:  # no running loop (a worker thread): not the request's task
            return False


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


current_claim: ContextVar[Claim | None] = ContextVar("flightdeck_idempotency_claim", default=None)
"""The claim of the request being served, for the unit of work to confirm at commit."""


class SupersededAttempt(Problem):
    """This attempt ran past its time and a retry took the key over: its changes are dropped."""

    def __init__(self) -> None:
        super().__init__(
            409,
            "a retry with this Idempotency-Key took over; this attempt's changes were not saved",
            slug="idempotency-key-superseded",
        )


async def confirm(session: AsyncSession | AsyncConnection) -> None:
    """Inside the use case's transaction: record that the request's changes commit with it."""
    claim = current_claim.get()
    if claim is None or not claim.active():
        return
    result = await session.execute(
        update(idempotency_keys)
        .where(_owned(claim), idempotency_keys.c.state.in_(("in_progress", "committed")))
        .values(state="committed")
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise SupersededAttempt
    claim.committed = True


def note_commit() -> None:
    """A transaction committed outside the unit of work (engine-level hook): the request may
    have changed state, so it must not be run again even if it fails."""
    claim = current_claim.get()
    if claim is not None and claim.active():
        claim.committed = True


class IdempotencyStore:
    """Keys and their responses in the service's own database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    async def begin(self, claim: Claim, fingerprint: str) -> tuple[Outcome, Stored | None]:
        """Claim the key for this attempt, or say what happened to it before."""
        for _ in range(3):  # the row can vanish between our insert and read (an abandon)
            found = await self._begin_once(claim, fingerprint)
            if found is not None:
                return found
        return Outcome.IN_PROGRESS, None

    async def _begin_once(
        self, claim: Claim, fingerprint: str
    ) -> tuple[Outcome, Stored | None] | None:
        now = datetime.now(UTC)
        key = (idempotency_keys.c.scope == claim.scope) & (idempotency_keys.c.key == claim.key)
        async with self._engine.begin() as conn:
            inserted = await conn.execute(
                self._insert(idempotency_keys)
                .values(
                    scope=claim.scope,
                    key=claim.key,
                    attempt=claim.attempt,
                    fingerprint=fingerprint,
                    state="in_progress",
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
            if inserted.rowcount:
                return Outcome.NEW, None
            row = (await conn.execute(select(idempotency_keys).where(key))).one_or_none()
            if row is None:
                return None
            if row.fingerprint != fingerprint:
                return Outcome.MISMATCH, None
            if row.state == "done":
                headers = [(str(k), str(v)) for k, v in json.loads(row.headers)]
                return Outcome.REPLAY, Stored(row.status, headers, row.body)
            if row.state == "committed":
                return Outcome.UNRECORDED, None
            created = row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC)
            if now - created <= IN_PROGRESS_TIMEOUT:
                return Outcome.IN_PROGRESS, None
            # The earlier attempt died (or is hopelessly slow): take over, unless another
            # retry just did. Its unit of work can no longer confirm the key.
            taken = await conn.execute(
                update(idempotency_keys)
                .where(key, idempotency_keys.c.attempt == row.attempt)
                .where(idempotency_keys.c.state == "in_progress")
                .values(attempt=claim.attempt, created_at=now)
            )
            return (Outcome.NEW, None) if taken.rowcount else (Outcome.IN_PROGRESS, None)

    async def finish(self, claim: Claim, response: Stored) -> None:
        """Keep the response for replays (retried: a lost response means 409s, not reruns)."""
        values = {
            "state": "done",
            "status": response.status,
            "headers": json.dumps(response.headers),
            "body": response.body,
        }
        await self._set(claim, values, "record the response")

    async def settle_unstored(self, claim: Claim) -> None:
        """No response to keep: if the request changed state, retries get 409 "unrecorded";
        if it changed nothing, forget the key so that a retry runs again."""
        if claim.committed:
            await self._set(claim, {"state": "committed"}, "mark the key carried out")
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    delete(idempotency_keys).where(
                        _owned(claim), idempotency_keys.c.state == "in_progress"
                    )
                )
        except Exception:
            log.exception("could not release Idempotency-Key %s", claim.key)

    async def _set(self, claim: Claim, values: dict[str, object], what: str) -> None:
        for attempt in range(3):
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        update(idempotency_keys).where(_owned(claim)).values(**values)
                    )
                return
            except Exception:
                if attempt == 2:
                    log.exception("could not %s for Idempotency-Key %s", what, claim.key)
                    return
                await asyncio.sleep(0.1 * (attempt + 1))

    async def purge(self, older_than: datetime) -> None:
        """Drop keys past their retention."""
        cutoff = older_than.astimezone(UTC)
        async with self._engine.begin() as conn:
            expired = delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
            await conn.execute(expired)


def _owned(claim: Claim) -> ColumnElement[bool]:
    return (
        (idempotency_keys.c.scope == claim.scope)
        & (idempotency_keys.c.key == claim.key)
        & (idempotency_keys.c.attempt == claim.attempt)
    )


class IdempotentPosts:
    """ASGI middleware applying `Idempotency-Key` to POSTs outside the raw-body paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Callable[[], IdempotencyStore | None],
        tokens: Callable[[], TokenStore | None],
        skip_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.store = store
        self.tokens = tokens
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST" or under(scope["path"], self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        store, caller = self.store(), self._caller(scope)
        if store is None or caller is None:  # no valid token: the route answers 401
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            detail = "Idempotency-Key must be 1 to 255 characters"
            problem = Problem(422, detail, slug="invalid-idempotency-key")
            await send_problem(scope, receive, send, problem)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away mid-upload: nobody to answer, nothing claimed
            return
        claim = Claim(scope=caller, key=key, attempt=uuid.uuid4().hex)
        outcome, stored = await store.begin(claim, _fingerprint(scope, body))
        if outcome is Outcome.NEW:
            await _Attempt(self.app, store, claim, body).run(scope, receive, send)
        elif outcome is Outcome.REPLAY and stored is not None:
            await _replay(send, stored)
        else:
            await send_problem(scope, receive, send, _refusal(outcome))

    def _caller(self, scope: Scope) -> str | None:
        tokens = self.tokens()
        authorization = header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if tokens is None or scheme.lower() != "bearer" or not token.strip():
            return None
        principal = tokens.authenticate(token.strip())
        if principal is None:
            return None
        if principal.token_id:
            return principal.token_id
        return "sub:" + hashlib.sha256(principal.subject.encode()).hexdigest()[:56]


class _Attempt:
    """One run of the app under a claimed key, recording its response for replays."""

    def __init__(self, app: ASGIApp, store: IdempotencyStore, claim: Claim, body: bytes) -> None:
        self.app, self.store, self.claim, self.body = app, store, claim, body
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.delivered = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.claim.task = asyncio.current_task()
        token = current_claim.set(self.claim)

        async def replay_receive() -> Message:
            if self.delivered:
                return await receive()  # waits for the client's disconnect, as the server would
            self.delivered = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def capture(message: Message) -> None:
            final = message["type"] == "http.response.body" and not message.get("more_body")
            if final:  # record before the client can see the response end (and retry)
                await self._saw(message)
                await send(message)
            else:
                await send(message)
                await self._saw(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            current_claim.reset(token)
            self.claim.open = False
            if not self.claim.finished:
                await self.store.settle_unstored(self.claim)

    async def _saw(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in message.get("headers", [])
                if k.decode("latin-1").lower() in REPLAYED_HEADERS
            ]
            return
        if message["type"] != "http.response.body":
            return
        chunk = message.get("body", b"")
        self.size += len(chunk)
        if self.size <= MAX_STORED_BYTES:
            self.chunks.append(chunk)
        if message.get("more_body", False):
            return
        # The response is complete: record it now (background tasks may still run).
        storable = (
            self.size <= MAX_STORED_BYTES and self.status < 500 and self.status not in NOT_STORED
        )
        self.claim.open = False
        if storable:
            self.claim.finished = True
            await self.store.finish(
                self.claim, Stored(self.status, self.headers, b"".join(self.chunks))
            )


def _fingerprint(scope: Scope, body: bytes) -> str:
    parts = [
        scope["method"].encode(),
        scope["path"].encode(),
        scope.get("query_string", b""),
        (header(scope, b"content-type") or "").encode(),
        (header(scope, b"if-match") or "").encode(),
        body,
    ]
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


def _refusal(outcome: Outcome) -> Problem:
    if outcome is Outcome.MISMATCH:
        detail = "this Idempotency-Key was used for a different request"
        return Problem(422, detail, slug="idempotency-key-reused")
    if outcome is Outcome.UNRECORDED:
        return Problem(
            409,
            "the request with this Idempotency-Key was carried out, but its response was not "
            "kept; read the resource to see the result",
            slug="idempotency-key-unrecorded",
        )
    detail = "a request with this Idempotency-Key is still running"
    return Problem(409, detail, slug="idempotency-key-in-progress")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected before sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(send: Send, stored: Stored) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((b"idempotent-replayed", b"true"))
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
