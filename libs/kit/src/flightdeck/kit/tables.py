"""Tables the kit keeps in every service database."""

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, Text

from flightdeck.events.tables import UtcDateTime

metadata = MetaData()

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("attempt", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status", Integer),
    Column("headers", Text),
    Column("body", LargeBinary),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)
"""Responses of POSTs made with an `Idempotency-Key`, replayed on a retry."""

leases = Table(
    "leases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
"""Named leases, so a scheduler runs on one replica at a time."""
