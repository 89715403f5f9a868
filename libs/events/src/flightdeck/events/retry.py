"""How a failing handler is retried: transient trouble (the database or broker briefly away)
is retried for as long as it lasts; any other error a few times, then dead-lettered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka.errors import KafkaError
from sqlalchemy import exc as sa_exc

TRANSIENT_SQLSTATES = ("08", "40001", "40P01", "53", "55P03", "57P")
"""PostgreSQL: connection exceptions, serialization failure, deadlock, insufficient resources
(too many connections, out of memory, disk full), lock not available, operator intervention."""

TRANSIENT_SQLITE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
)
"""SQLite: busy or locked database, I/O trouble, full disk (extended codes included). Not
schema or SQL errors, which sqlite3 also raises as OperationalError."""


def is_transient(error: BaseException) -> bool:
    """Whether `error` says the infrastructure is briefly unavailable, not that the event (or
    the handler) is wrong."""
    if isinstance(error, (ConnectionError, TimeoutError, sa_exc.TimeoutError, KafkaError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or _transient_driver_error(error.orig)
    return False


def _transient_driver_error(orig: BaseException | None, depth: int = 0) -> bool:
    if orig is None or depth > 3:
        return False
    if isinstance(orig, (ConnectionError, TimeoutError)):
        return True
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    if sqlite_name is not None:
        return str(sqlite_name).startswith(TRANSIENT_SQLITE)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate:
        return str(sqlstate).startswith(TRANSIENT_SQLSTATES)
    # SQLAlchemy's asyncpg adapter wraps the driver's exception: look at what it wraps.
    return _transient_driver_error(orig.__cause__, depth + 1)


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
