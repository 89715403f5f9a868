"""Fixtures every test can use: the broker, databases, tokens and running services."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from flightdeck.events.embedded import EmbeddedBroker
from flightdeck.events.kafka import KafkaSettings
from flightdeck.kit.testing import DatabaseFactory, TestDatabases, Tokens, running, test_settings

POSTGRES_URL = os.environ.get("FLIGHTDECK_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def _docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def broker_bootstrap() -> Any:
    """`host:port` of the test broker: FLIGHTDECK_TEST_KAFKA, a Kafka testcontainer when a
    Docker engine is reachable, else the embedded broker on a free port."""
    if external := os.environ.get("FLIGHTDECK_TEST_KAFKA"):
        yield external
        return
    if os.environ.get("FLIGHTDECK_TEST_DOCKER", "auto") != "off" and _docker_engine():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    broker = EmbeddedBroker()
    broker.start()
    import asyncio

    asyncio.run(broker.wait_ready())
    yield broker.bootstrap_servers
    broker.stop()


@pytest.fixture
def kafka(broker_bootstrap: str) -> KafkaSettings:
    """Kafka settings with a topic and group namespace of this test's own."""
    return KafkaSettings(
        bootstrap_servers=broker_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        session_timeout_ms=2_000,
        heartbeat_interval_ms=300,
    )


@pytest.fixture(scope="session")
async def database_factories(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, DatabaseFactory]]:
    """One factory per backend, each holding migrated templates for the session."""
    factories = {
        backend: DatabaseFactory(backend, tmp_path_factory.mktemp(f"db-{backend}"), POSTGRES_URL)
        for backend in BACKENDS
    }
    yield factories
    for factory in factories.values():
        if factory.backend == "postgresql":
            await factory.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test run (PostgreSQL only with FLIGHTDECK_TEST_DATABASE_URL)."""
    return str(request.param)


@pytest.fixture
async def databases(
    backend: str, database_factories: dict[str, DatabaseFactory]
) -> AsyncIterator[TestDatabases]:
    """Creates fresh databases on this test's backend; drops them afterwards."""
    created = TestDatabases(database_factories[backend])
    yield created
    await created.drop_all()


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    """A tokens file shared by the session; mint tokens with `tokens.token(subject, role)`."""
    return Tokens(tmp_path_factory.mktemp("auth") / "tokens.json")


@pytest.fixture
def start_service(
    databases: TestDatabases, kafka: KafkaSettings, tokens: Tokens, tmp_path: Path
) -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start a service on a fresh database: `async with start_service("planning") as client`."""

    @contextlib.asynccontextmanager
    async def start(
        name: str, *, database_url: str | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        from flightdeck.cli.registry import service

        entry = service(name)
        url = database_url or await databases.create(name, service_dir=entry.directory)
        settings = test_settings(
            entry.settings_class,
            database_url=url,
            kafka=kafka,
            tokens_file=tokens.path,
            var_dir=tmp_path,
            **overrides,
        )
        app: FastAPI = entry.create_app(settings)
        async with running(app, base_url=f"http://{name}") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client

    return start
