"""Context that every log line carries: trace, event and correlation ids."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_fields: ContextVar[dict[str, str]] = ContextVar("flightdeck_log_fields", default={})  # noqa: B039


def current() -> dict[str, str]:
    """The fields bound in this context."""
    return _fields.get()


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Bind fields to every log line written inside the block."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _fields.reset(token)
