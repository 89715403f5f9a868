"""Times go into either database in UTC and come back aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from flightdeck.kit.db import UtcDateTime, create_engine

metadata = MetaData()
moments = Table(
    "moments", metadata, Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
)


async def test_times_are_stored_in_utc_and_read_back_aware(databases: Any) -> None:
    engine = create_engine(await databases.create("moments", metadata=[metadata]))
    berlin_spring = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(moments).values(id=1, at=berlin_spring))
            with pytest.raises(StatementError, match="naive"):
                await conn.execute(insert(moments).values(id=2, at=datetime(2026, 3, 29, 3, 30)))
        async with engine.connect() as conn:
            (stored,) = (await conn.execute(select(moments.c.at))).scalars().all()
            earlier = await conn.scalar(
                select(moments.c.id).where(moments.c.at < datetime(2026, 3, 29, 2, 0, tzinfo=UTC))
            )
    finally:
        await engine.dispose()
    assert stored == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
    assert earlier == 1
