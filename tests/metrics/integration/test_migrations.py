"""Migrations 0003 and 0005 give the DeploymentStarted and VerificationPassed rows already
projected their environment, read from the logged event, on SQLite (batch mode) and
PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from flightdeck.cli.registry import service
from flightdeck.kit.db import create_engine
from flightdeck.kit.migrations import upgrade
from flightdeck.kit.testing import DatabaseFactory

LOGGED = """
INSERT INTO event_log (event_id, type, subject, source, time, data, recorded_at)
VALUES ('e-1', :type, 'D1', 'test', :at, :data, :at)
"""
PROJECTED = {
    "deployment_starts": """
INSERT INTO deployment_starts (event_id, deployment_id, release_id, started_us)
VALUES ('e-1', 'D1', 'rel-1', 0)
""",
    "verifications": """
INSERT INTO verifications (event_id, deployment_id, release_id, passed_us)
VALUES ('e-1', 'D1', 'rel-1', 0)
""",
}


def fresh_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
    base = make_url(os.environ["FLIGHTDECK_TEST_DATABASE_URL"])
    name = f"{base.database}_m{uuid.uuid4().hex[:10]}"
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("before", "event_type", "table"),
    [
        ("0002", "DeploymentStarted", "deployment_starts"),
        ("0004", "VerificationPassed", "verifications"),
    ],
)
async def test_projected_rows_read_their_environment_from_the_log(
    backend: str,
    database_factories: dict[str, DatabaseFactory],
    tmp_path: Path,
    before: str,
    event_type: str,
    table: str,
) -> None:
    directory = service("metrics").directory
    url = fresh_url(backend, tmp_path)
    await upgrade(directory, url, before)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            data = json.dumps({"deployment_id": "D1", "environment": "stage"})
            at = datetime(2026, 1, 1, tzinfo=UTC)
            await conn.execute(text(LOGGED), {"type": event_type, "at": at, "data": data})
            await conn.execute(text(PROJECTED[table]))
        await upgrade(directory, url)
        async with engine.connect() as conn:
            found = await conn.execute(text(f"SELECT environment FROM {table}"))
            assert found.scalars().all() == ["stage"]
    finally:
        await engine.dispose()
        await database_factories[backend].drop(url)
