"""Database engines: PostgreSQL through asyncpg, SQLite through aiosqlite (WAL, foreign keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from flightdeck.events.tables import UtcDateTime
from flightdeck.kit.idempotency import note_commit

__all__ = ["READONLY", "UtcDateTime", "create_engine", "is_postgres", "readonly", "session_factory"]

READONLY = "flightdeck_readonly"
"""Execution option marking connections that only read (see `readonly`)."""


def create_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine configured for the dialect in `url`.

    `foreign_keys=False` is for SQLite migrations: batch mode rebuilds a table by dropping it,
    which with foreign keys on would cascade-delete its children.
    """
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", _to_json)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, parsed.database, foreign_keys=foreign_keys, **kwargs)
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "commit", lambda _connection: note_commit())
    return engine


def _sqlite_engine(
    url: str, database: str | None, *, foreign_keys: bool, **kwargs: Any
) -> AsyncEngine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front (IMMEDIATE): a read-then-write transaction can
        # never fail half-way with "database is locked" when another writer got there first.
        # Readers begin deferred and, with WAL, never wait for a writer.
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _to_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    """Whether the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def readonly(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) for connections that only read: on SQLite they do not
    take the write lock, so reads never queue behind writers."""
    return engine.execution_options(**{READONLY: True})
