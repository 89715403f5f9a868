"""Migrations 0003 and 0005 give the DeploymentStarted and VerificationPassed rows already
projected their environment, read from the logged event, on SQLite (batch mode) and
PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from flightdeck.cli.registry import service
from flightdeck.kit.db import create_engine
from flightdeck.kit.migrations import upgrade
from flightdeck.kit.testing import DatabaseFactory

LOGGED_START = """
INSERT INTO event_log (event_id, type, subject, source, time, data, recorded_at)
VALUES ('e-1', 'DeploymentStarted', 'S1', 'test', :at, :data, :at)
"""
PROJECTED_START = """
INSERT INTO deployment_starts (event_id, deployment_id, release_id, started_us)
VALUES ('e-1', 'S1', 'rel-1', 0)
"""


def fresh_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
    base = make_url(os.environ["FLIGHTDECK_TEST_DATABASE_URL"])
    name = f"{base.database}_m{uuid.uuid4().hex[:10]}"
    return base.set(database=name).render_as_string(hide_password=False)


async def test_0003_reads_the_environment_of_projected_starts(
    backend: str, database_factories: dict[str, DatabaseFactory], tmp_path: Path
) -> None:
    directory = service("metrics").directory
    url = fresh_url(backend, tmp_path)
    await upgrade(directory, url, "0002")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            data = json.dumps({"deployment_id": "S1", "environment": "stage"})
            await conn.execute(
                text(LOGGED_START), {"at": datetime(2026, 1, 1, tzinfo=UTC), "data": data}
            )
            await conn.execute(text(PROJECTED_START))
        await upgrade(directory, url)
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT environment FROM deployment_starts"))
            assert found.scalars().all() == ["stage"]
    finally:
        await engine.dispose()
        await database_factories[backend].drop(url)


LOGGED_VERIFICATION = """
INSERT INTO event_log (event_id, type, subject, source, time, data, recorded_at)
VALUES ('v-1', 'VerificationPassed', 'C1', 'test', :at, :data, :at)
"""
PROJECTED_VERIFICATION = """
INSERT INTO verifications (event_id, deployment_id, release_id, passed_us)
VALUES ('v-1', 'C1', 'rel-1', 0)
"""


async def test_0005_reads_the_environment_of_projected_verifications(
    backend: str, database_factories: dict[str, DatabaseFactory], tmp_path: Path
) -> None:
    directory = service("metrics").directory
    url = fresh_url(backend, tmp_path)
    await upgrade(directory, url, "0004")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            data = json.dumps({"deployment_id": "C1", "environment": "prod"})
            await conn.execute(
                text(LOGGED_VERIFICATION), {"at": datetime(2026, 1, 1, tzinfo=UTC), "data": data}
            )
            await conn.execute(text(PROJECTED_VERIFICATION))
        await upgrade(directory, url)
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT environment FROM verifications"))
            assert found.scalars().all() == ["prod"]
    finally:
        await engine.dispose()
        await database_factories[backend].drop(url)
