"""How a failing handler is retried: transient trouble (the database or broker briefly away)
is retried for as long as it lasts; any other error a few times, then dead-lettered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka.errors import KafkaError
from sqlalchemy import exc as sa_exc

TRANSIENT_SQLSTATES = ("40001", "40P01", "08", "57P")
"""Serialization failure, deadlock, connection exceptions, operator intervention."""


def is_transient(error: BaseException) -> bool:
    """Whether `error` says the infrastructure is briefly unavailable, not that the event is bad."""
    if isinstance(error, (ConnectionError, TimeoutError, sa_exc.TimeoutError, KafkaError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or isinstance(
            error, (sa_exc.OperationalError, sa_exc.InterfaceError)
        ):
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return bool(sqlstate) and str(sqlstate).startswith(TRANSIENT_SQLSTATES)
    return isinstance(error, OSError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts and backoff before a record is dead-lettered."""

    max_attempts: int = 5
    backoff_base: float = 0.2
    backoff_max: float = 5.0
    transient: Callable[[BaseException], bool] = field(default=is_transient)
    """Errors that never count as attempts: they are retried until they stop."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failure."""
        return float(min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max))
