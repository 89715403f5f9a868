"""Subscriptions: which events a service handles, each applied once through the inbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from flightdeck.events.envelope import Envelope, Event
from flightdeck.events.topics import events_topic
from flightdeck.kit.uow import AlreadyHandled, UnitOfWork

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
EventHandler = Callable[[Envelope[Any], U], Awaitable[None]]


class Subscriptions(Generic[U]):
    """Event type → handler. A handler gets the envelope and a unit of work made for it."""

    def __init__(self) -> None:
        self._handlers: dict[str, EventHandler[U]] = {}
        self._topics: set[str] = set()

    def on(self, event: type[Event]) -> Callable[[EventHandler[U]], EventHandler[U]]:
        """Decorator: handle `event` with the decorated function."""

        def register(handler: EventHandler[U]) -> EventHandler[U]:
            self.add(event, handler)
            return handler

        return register

    def add(self, event: type[Event], handler: EventHandler[U]) -> None:
        """Handle `event` with `handler`."""
        if event.ce_type in self._handlers:
            raise ValueError(f"{event.__name__} already has a handler")
        self._handlers[event.ce_type] = handler
        self._topics.add(events_topic(event.producer))

    @property
    def types(self) -> frozenset[str]:
        """The CloudEvents types handled."""
        return frozenset(self._handlers)

    @property
    def topics(self) -> list[str]:
        """The logical topics to subscribe to."""
        return sorted(self._topics)

    def __bool__(self) -> bool:
        return bool(self._handlers)

    def dispatcher(
        self, make_uow: Callable[[Envelope[Any]], U]
    ) -> Callable[[Envelope[Any]], Awaitable[None]]:
        """The function the consumer runner calls for each event."""

        async def dispatch(envelope: Envelope[Any]) -> None:
            handler = self._handlers.get(envelope.type)
            if handler is None:
                return
            try:
                await handler(envelope, make_uow(envelope))
            except AlreadyHandled:
                log.info("event %s was applied before; ignoring the redelivery", envelope.id)

        return dispatch
