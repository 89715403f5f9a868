"""The six services: each migrates its own database, starts, and answers the common routes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect

from flightdeck.cli.registry import all_services, service
from flightdeck.events.topics import SERVICES
from flightdeck.kit.db import create_engine
from flightdeck.kit.testing import context_of

PORTS = {
    "planning": 8101,
    "governance": 8102,
    "environments": 8103,
    "executor": 8104,
    "validation": 8105,
    "metrics": 8106,
}


def test_each_service_has_its_port_and_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [entry.name for entry in all_services()] == list(SERVICES)
    for entry in all_services():
        settings = entry.settings()
        assert settings.port == PORTS[entry.name]
        assert settings.database_url.endswith(f"var/{entry.name}.db")
        assert (entry.directory / "alembic.ini").exists()
    monkeypatch.setenv("FLIGHTDECK_GOVERNANCE_PORT", "9302")
    monkeypatch.setenv("FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("FLIGHTDECK_POSTGRES_SERVER", "postgresql+asyncpg://fd@db:5432")
    governance = service("governance").settings()
    assert governance.port == 9302
    assert governance.kafka_bootstrap_servers == "kafka:9092"
    assert governance.database_url == "postgresql+asyncpg://fd@db:5432/flightdeck_governance"
    assert service("planning").settings().port == 8101


@pytest.mark.parametrize("name", SERVICES)
async def test_service_migrates_starts_and_is_ready(start_service: Any, name: str) -> None:
    async with start_service(name) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert (await client.get("/openapi.json")).json()["info"]["title"] == f"Flightdeck {name}"
        assert "flightdeck_http_requests_total" in (await client.get("/metrics")).text
        engine = context_of(client.app).engine
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"outbox", "inbox", "idempotency_keys", "leases", "alembic_version"} <= tables


async def test_migrations_downgrade_to_nothing(databases: Any) -> None:
    from flightdeck.kit.migrations import alembic_config

    entry = service("planning")
    url = await databases.create("planning_down", service_dir=entry.directory)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:

            def down(sync: Any) -> None:
                from alembic import command

                config = alembic_config(entry.directory, url)
                config.attributes["connection"] = sync
                command.downgrade(config, "base")

            await conn.run_sync(down)
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables <= {"alembic_version"}
    finally:
        await engine.dispose()
