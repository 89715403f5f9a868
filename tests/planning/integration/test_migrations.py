"""The planning migrations build exactly the tables `db/tables.py` declares, and undo them."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from flightdeck.cli.registry import service
from flightdeck.events.tables import metadata as events_metadata
from flightdeck.kit.db import create_engine
from flightdeck.kit.tables import metadata as kit_metadata
from flightdeck.planning.db.tables import metadata


def _differences(connection: Any) -> list[Any]:
    combined = MetaData()
    for meta in (metadata, events_metadata, kit_metadata):
        for table in meta.tables.values():
            table.to_metadata(combined)
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, combined))


async def test_migrated_schema_matches_the_table_metadata(databases: Any) -> None:
    url = await databases.create("planning", service_dir=service("planning").directory)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
