"""The migrations build exactly the tables `db/tables.py` declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from flightdeck.cli.registry import service
from flightdeck.events.tables import metadata as events_metadata
from flightdeck.governance.db.tables import metadata
from flightdeck.kit.db import create_engine
from flightdeck.kit.tables import metadata as kit_metadata


async def test_migrated_schema_matches_the_table_metadata(databases: Any) -> None:
    url = await databases.create("governance_schema", service_dir=service("governance").directory)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def differences(sync: Any) -> list[Any]:
                context = MigrationContext.configure(sync, opts={"compare_type": True})
                return list(compare_metadata(context, [events_metadata, kit_metadata, metadata]))

            assert await conn.run_sync(differences) == []
            head = (await conn.execute(text("SELECT seq, hash FROM audit_head"))).one()
            assert tuple(head) == (0, "0" * 64)
            policies = (await conn.execute(text("SELECT count(*) FROM policies"))).scalar()
            assert policies == 0  # version 1 is seeded when the service starts
    finally:
        await engine.dispose()


async def test_the_migration_downgrades_to_the_baseline(databases: Any) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from flightdeck.kit.migrations import alembic_config

    entry = service("governance")
    url = await databases.create("governance_down", service_dir=entry.directory)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:

            def down(sync: Any) -> set[str]:
                config = alembic_config(entry.directory, url)
                config.attributes["connection"] = sync
                command.downgrade(config, "0001")
                return set(inspect(sync).get_table_names())

            tables = await conn.run_sync(down)
        assert tables == {"alembic_version", "outbox", "inbox", "idempotency_keys", "leases"}
    finally:
        await engine.dispose()
