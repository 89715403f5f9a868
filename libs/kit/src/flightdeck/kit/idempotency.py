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
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from flightdeck.kit.problems import Problem
from flightdeck.kit.tables import idempotency_keys

log = logging.getLogger(__name__)

IN_PROGRESS_TIMEOUT = timedelta(minutes=2)


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
