"""The ASGI middleware that applies `Idempotency-Key` to POSTs (see `idempotency`)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flightdeck.kit.auth import TokenStore
from flightdeck.kit.http import header, send_problem, under
from flightdeck.kit.idempotency import (
    Claim,
    IdempotencyStore,
    Outcome,
    Stored,
    current_claim,
)
from flightdeck.kit.problems import Problem

MAX_STORED_BYTES = 1024 * 1024
"""Responses larger than this (exports) are not kept for replays."""
NOT_STORED = frozenset({401, 403})
REPLAYED_HEADERS = frozenset({"content-type", "location", "etag"})


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
