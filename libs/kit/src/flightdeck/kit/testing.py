"""Test harness: fresh migrated databases per test (SQLite or PostgreSQL), running apps
with their lifespan, and API tokens for every role."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.engine import make_url

from flightdeck.events.tables import metadata as events_metadata
from flightdeck.kit.auth import Role, create_token
from flightdeck.kit.context import ServiceContext
from flightdeck.kit.db import create_engine
from flightdeck.kit.migrations import upgrade
from flightdeck.kit.tables import metadata as kit_metadata


class DatabaseFactory:
    """Hands out a fresh database per test, cloned from a migrated template per schema.

    PostgreSQL clones with `CREATE DATABASE … TEMPLATE`; SQLite copies a file.
    """

    def __init__(self, backend: str, workdir: Path, postgres_url: str | None = None) -> None:
        if backend == "postgresql" and not postgres_url:
            raise ValueError("PostgreSQL needs FLIGHTDECK_TEST_DATABASE_URL")
        self.backend = backend
        self.workdir = workdir
        self._pg = make_url(postgres_url) if postgres_url else None
        self._templates: dict[str, str] = {}
        self._session = uuid.uuid4().hex[:6]  # two test runs may share one server
        self._created: list[str] = []

    async def create(
        self,
        schema: str,
        *,
        service_dir: Path | None = None,
        metadata: Sequence[MetaData] = (),
    ) -> str:
        """The URL of a new database with `schema` (a service's migrations, or tables)."""
        template = self._templates.get(schema)
        if template is None:
            template = await self._make_template(schema, service_dir, metadata)
            self._templates[schema] = template
        name = f"{schema}_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            target = self.workdir / f"{name}.db"
            shutil.copyfile(template, target)
            return f"sqlite+aiosqlite:///{target}"
        assert self._pg is not None
        database = f"{self._pg.database}_{uuid.uuid4().hex[:10]}"  # within PostgreSQL's 63
        await self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        self._created.append(database)
        return self._pg.set(database=database).render_as_string(hide_password=False)

    async def _make_template(
        self, schema: str, service_dir: Path | None, metadata: Sequence[MetaData]
    ) -> str:
        if self.backend == "sqlite":
            path = self.workdir / f"template_{schema}.db"
            url = f"sqlite+aiosqlite:///{path}"
            await self._build(url, service_dir, metadata)
            return str(path)
        assert self._pg is not None
        database = f"{self._pg.database}_tpl{self._session}{len(self._templates)}"
        await self._admin(f'CREATE DATABASE "{database}"')
        self._created.append(database)
        await self._build(
            self._pg.set(database=database).render_as_string(hide_password=False),
            service_dir,
            metadata,
        )
        return database

    async def _build(
        self, url: str, service_dir: Path | None, metadata: Sequence[MetaData]
    ) -> None:
        if service_dir is not None:
            await upgrade(service_dir, url)
            return
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                for meta in (events_metadata, kit_metadata, *metadata):
                    await conn.run_sync(meta.create_all)
        finally:
            await engine.dispose()

    async def _admin(self, statement: str) -> None:
        import asyncpg

        assert self._pg is not None
        dsn = self._pg.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def drop(self, url: str) -> None:
        """Remove one test database."""
        if self.backend == "sqlite":
            _remove_sqlite_files(make_url(url).database or "")
            return
        name = make_url(url).database
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)

    async def close(self) -> None:
        """Drop every database still around (templates included)."""
        for name in list(reversed(self._created)):
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()


def _remove_sqlite_files(database: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


class TestDatabases:
    """One test's databases: created from the shared factory, all dropped at the end."""

    __test__ = False  # not a pytest test class

    def __init__(self, factory: DatabaseFactory) -> None:
        self._factory = factory
        self._urls: list[str] = []

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._factory.backend

    async def create(
        self, schema: str, *, service_dir: Path | None = None, metadata: Sequence[MetaData] = ()
    ) -> str:
        """A fresh database (see `DatabaseFactory.create`)."""
        url = await self._factory.create(schema, service_dir=service_dir, metadata=metadata)
        self._urls.append(url)
        return url

    async def drop_all(self) -> None:
        """Drop every database this test created."""
        for url in self._urls:
            await self._factory.drop(url)
        self._urls.clear()


class Tokens:
    """A tokens file for tests, with a helper to mint tokens."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: dict[tuple[str, tuple[str, ...]], str] = {}

    def token(self, subject: str, *roles: Role | str) -> str:
        """A token for `subject` with `roles` (minted once per combination)."""
        key = (subject, tuple(sorted(str(Role(r).value) for r in roles)))
        if key not in self._cache:
            self._cache[key], _ = create_token(self.path, subject, roles)
        return self._cache[key]

    def headers(self, subject: str, *roles: Role | str) -> dict[str, str]:
        """`Authorization` header for such a token."""
        return {"Authorization": f"Bearer {self.token(subject, *roles)}"}


@contextlib.asynccontextmanager
async def running(
    app: FastAPI, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started, and an HTTP client talking to it in-process."""
    async with app.router.lifespan_context(app):
        # Like a real server: an unhandled error is a 500 answer, not an exception in the client.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as client:
            yield client


def context_of(app: FastAPI) -> ServiceContext:
    """The running app's service context."""
    context: ServiceContext = app.state.context
    return context


def test_settings(
    settings_class: type[Any],
    *,
    database_url: str,
    kafka: Any,
    tokens_file: Path,
    var_dir: Path,
    **overrides: Any,
) -> Any:
    """Settings for a service under test: its own database, the test broker and tokens."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "tokens_file": tokens_file,
        "var_dir": var_dir,
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "kafka_topic_prefix": kafka.topic_prefix,
        "kafka_session_timeout_ms": kafka.session_timeout_ms,
        "kafka_heartbeat_interval_ms": kafka.heartbeat_interval_ms,
        "relay_poll_seconds": 0.05,
        "consumer_backoff_seconds": 0.05,
        "consumer_max_attempts": 3,
        "consumer_stale_seconds": 6,
        "log_json": False,
    }
    return settings_class(**{**values, **overrides})
