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
