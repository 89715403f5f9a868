"""The unit of work: one transaction holding a use case's state changes and the events
they cause (staged in the outbox), and, for a consumed event, its inbox entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flightdeck.events import inbox
from flightdeck.events.envelope import Envelope, Event
from flightdeck.events.outbox import stage_many
from flightdeck.events.tracing import active_traceparent, new_traceparent
from flightdeck.kit import idempotency


class AlreadyHandled(Exception):
    """The consumed event was applied before; this delivery must have no effect."""


class UnitOfWork:
    """Use as `async with uow: ...; await uow.commit()`; leaving without commit rolls back.

    Services subclass it to add their repositories (built from `self.session` in
    `_open`). When built for a consumed event (`cause`, `consumer`), entering claims the
    event in the inbox and raises `AlreadyHandled` when it was applied before.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cause: Envelope[Any] | None = None,
        consumer: str | None = None,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self.cause = cause
        self._consumer = consumer
        self._on_commit = on_commit
        self._pending: list[Envelope[Any]] = []
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The open session (only inside `async with`)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._pending = []
        try:
            if self.cause is not None and self._consumer is not None:
                claimed = await inbox.claim(
                    self._session, self._consumer, self.cause.id, self.cause.type
                )
                if not claimed:
                    raise AlreadyHandled(self.cause.id)
            self._open()
        except BaseException:
            await self._close()  # __aexit__ does not run when __aenter__ fails
            raise
        return self

    def _open(self) -> None:
        """Hook for subclasses: build repositories on `self.session`."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.rollback()
            await session.close()

    def publish(self, event: Event, *, time: datetime | None = None) -> Envelope[Event]:
        """Stage an event; it is written to the outbox by `commit`, with the state."""
        traceparent = active_traceparent() or (self.cause.traceparent if self.cause else None)
        envelope = Envelope.caused_by(
            event, self.cause, time=time, traceparent=traceparent or new_traceparent()
        )
        self._pending.append(envelope)
        return envelope

    @property
    def staged(self) -> list[Envelope[Any]]:
        """Events staged and not yet committed."""
        return list(self._pending)

    async def commit(self) -> None:
        """Write staged events to the outbox and commit everything together."""
        session = self.session
        if self._pending:
            await stage_many(session, self._pending)
        await idempotency.confirm(session)
        await session.commit()
        published, self._pending = bool(self._pending), []
        if published and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        """Forget the changes and the staged events."""
        self._pending = []
        await self.session.rollback()
