"""The ingest use case on its own, on each backend: a batch is logged once per ce_id (within
the batch and across batches), the log keeps each event's document as published, and the
fact rows of a large batch land in one go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from flightdeck.kit.db import create_engine
from flightdeck.kit.testing import TestDatabases
from flightdeck.metrics import SERVICE_DIR
from flightdeck.metrics.db.tables import deployment_commits, deployments, event_log
from flightdeck.metrics.service.ingest import ingest
from tests.metrics import scenario

pytestmark = pytest.mark.usefixtures("backend")

NOW = datetime(2026, 2, 1, tzinfo=UTC)


async def test_a_batch_is_logged_once_per_event_with_its_document(
    databases: TestDatabases,
) -> None:
    engine = create_engine(await databases.create("metrics", service_dir=SERVICE_DIR))
    events = [
        scenario.finished(
            f"D{n}",
            "checkout" if n % 2 else "ledger",
            scenario.at(n / 100),
            [scenario.commit(f"s{n}", scenario.at(n / 100, -3))],
        )
        for n in range(300)
    ]
    try:
        assert await ingest(engine, [*events[:100], events[0], events[5]], NOW) == 100
        assert await ingest(engine, [*events[50:], events[7]], NOW) == 200
        async with engine.connect() as conn:
            logged = {
                row.event_id: row
                for row in await conn.execute(
                    select(event_log.c.event_id, event_log.c.time, event_log.c.data)
                )
            }
            counts: dict[str, Any] = {
                table.name: await conn.scalar(select(func.count()).select_from(table))
                for table in (deployments, deployment_commits)
            }
    finally:
        await engine.dispose()
    assert set(logged) == {envelope.id for envelope in events}
    for envelope in events:
        row = logged[envelope.id]
        assert row.data == envelope.data.model_dump(mode="json")
        assert row.time == envelope.time
    assert counts == {"deployments": 300, "deployment_commits": 300}
