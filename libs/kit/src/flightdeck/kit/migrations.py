"""Alembic, the same way for every service: the body of each `env.py`, programmatic
upgrades, and the baseline tables every service database starts with."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, make_url

from flightdeck.events.tables import metadata as events_metadata
from flightdeck.kit.db import create_engine
from flightdeck.kit.tables import metadata as kit_metadata


def service_root(package_file: str) -> Path:
    """`services/<name>/` from the `__file__` of `flightdeck/<name>/__init__.py`."""
    return Path(package_file).resolve().parents[3]


def alembic_config(service_dir: Path, url: str) -> Config:
    """The Alembic config of one service pointed at `url`."""
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    config.attributes["url"] = url
    return config


async def upgrade(service_dir: Path, url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`, creating a PostgreSQL database if needed."""
    await ensure_database(url)
    engine = create_engine(url, foreign_keys=False)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_on, alembic_config(service_dir, url), revision)
            await _check_foreign_keys(conn)
    finally:
        await engine.dispose()


async def _check_foreign_keys(conn: Any) -> None:
    """SQLite migrations run with foreign keys off; make sure they left none dangling."""
    if conn.dialect.name != "sqlite":
        return
    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
    if broken:
        raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` when it does not exist."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    import asyncpg

    server = parsed.set(drivername="postgresql", database="postgres")
    dsn = server.render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            quoted = parsed.database.replace('"', '""')
            await connection.execute(f'CREATE DATABASE "{quoted}"')
    finally:
        await connection.close()


def run_migrations(service_metadata: Sequence[MetaData]) -> None:
    """The body of a service's `env.py`."""
    target = [events_metadata, kit_metadata, *service_metadata]
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, target)
        return
    url = (
        context.config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or context.config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target))


async def _run_online(url: str, target: list[MetaData]) -> None:
    await ensure_database(url)
    engine = create_engine(url, foreign_keys=False)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run, target)
            await _check_foreign_keys(conn)
    finally:
        await engine.dispose()


def _run(connection: Connection, target: list[MetaData]) -> None:
    context.configure(
        connection=connection,
        target_metadata=target,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# --- the baseline every service database starts with (frozen: change tables in new revisions)


def platform_v1_upgrade() -> None:
    """Outbox, inbox, idempotency keys and leases."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "outbox",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text),
    )
    waiting = "published_at IS NULL AND failed_at IS NULL"
    unpublished: dict[str, Any] = {
        "postgresql_where": sa.text(waiting),
        "sqlite_where": sa.text(waiting),
    }
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], **unpublished)
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("attempt", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("headers", sa.Text),
        sa.Column("body", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def platform_v1_downgrade() -> None:
    """Drop what `platform_v1_upgrade` created."""
    for table in ("leases", "idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
