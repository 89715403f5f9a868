"""Tables every service database holds for messaging: the outbox and the inbox."""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time stored in UTC and read back with its UTC offset, on PostgreSQL and on
    SQLite alike (SQLite keeps no offset: naive values coming back are UTC by construction).
    Naive values are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times carry an offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BigId = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key that SQLite still auto-increments (it only does so for INTEGER keys)."""

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("key", Text, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Column("failed_at", UtcDateTime),
    Column("error", Text),
    Index(
        "ix_outbox_unpublished",
        "id",
        postgresql_where=text("published_at IS NULL AND failed_at IS NULL"),
        sqlite_where=text("published_at IS NULL AND failed_at IS NULL"),
    ),
    Index("ix_outbox_published_at", "published_at"),
)
"""Events staged in the same transaction as the state change that caused them.

`topic` is the logical name (`flightdeck.<service>.events`); the relay adds the prefix.
`published_at` is set once the broker acknowledged; `failed_at` and `error` once it refused
the row for good (quarantined: an operator decides, the rows behind it go on).
"""

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("event_type", String(255), nullable=False),
    Column("handled_at", UtcDateTime, nullable=False, index=True),
)
"""The ids of events a consumer has applied, written in the handler's own transaction."""
