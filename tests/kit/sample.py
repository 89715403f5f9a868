"""A small service built only from the kit, to test what every service inherits.

It keeps a ledger of planned releases (POST /ledger publishes ReleasePlanned) and consumes
ReleasePlanned and ChangeRejected into a table, so tests can count effects.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import OperationalError

from flightdeck.events.catalogue import ChangeRejected, ReleasePlanned
from flightdeck.events.envelope import Envelope
from flightdeck.events.types import UtcDatetime
from flightdeck.kit.app import ServiceSpec, create_service_app
from flightdeck.kit.deps import Ctx, Releaser, Viewer
from flightdeck.kit.messaging import Subscriptions
from flightdeck.kit.settings import ServiceSettings
from flightdeck.kit.uow import UnitOfWork

metadata = MetaData()
ledger = Table(
    "ledger",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("planned_start", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
)
seen = Table(
    "seen",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("trace_id", String(32)),
)


class SampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_SAMPLE_", extra="ignore")
    service_name: ClassVar[str] = "sample"
    default_port: ClassVar[int] = 8199


class LedgerEntry(BaseModel):
    name: str = Field(min_length=1)
    version: str
    planned_start: UtcDatetime
    planned_end: UtcDatetime


router = APIRouter()


@router.post("/ledger", status_code=201)
async def add_entry(entry: LedgerEntry, context: Ctx, caller: Releaser) -> dict[str, Any]:
    ident = uuid.uuid4().hex
    uow = context.uow()
    async with uow:
        await uow.session.execute(
            insert(ledger).values(
                id=ident,
                name=entry.name,
                planned_start=entry.planned_start,
                created_by=caller.subject,
            )
        )
        uow.publish(
            ReleasePlanned(
                release_id=ident,
                name=entry.name,
                version=entry.version,
                services=["checkout"],
                team="payments",
                target_environment="production",
                planned_start=entry.planned_start,
                planned_end=entry.planned_end,
                owner=caller.subject,
            )
        )
        await uow.commit()
    return {"id": ident, "name": entry.name}


@router.get("/ledger")
async def list_entries(context: Ctx, _caller: Viewer) -> list[dict[str, Any]]:
    async with context.reader.connect() as conn:
        rows = (await conn.execute(select(ledger.c.id, ledger.c.name))).all()
    return [{"id": row.id, "name": row.name} for row in rows]


@router.post("/ledger/export")
async def export_entries(context: Ctx, _caller: Viewer) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        async with context.reader.connect() as conn:
            for row in (await conn.execute(select(ledger.c.id, ledger.c.name))).all():
                yield f"{row.id},{row.name}\n".encode()
        for n in range(200):
            yield f"padding,{n}\n".encode()

    return StreamingResponse(lines(), media_type="text/csv")


@router.delete("/ledger")
async def clear_entries(context: Ctx, _caller: Releaser) -> dict[str, int]:
    async with context.engine.begin() as conn:
        result = await conn.execute(delete(ledger))
    return {"deleted": int(result.rowcount)}


FOLLOW_UPS: list[asyncio.Task[None]] = []


@router.post("/ledger/follow-up", status_code=202)
async def add_later(entry: LedgerEntry, context: Ctx, caller: Releaser) -> dict[str, str]:
    """Answers at once and writes the entry from a task the request started."""

    async def write() -> None:
        await asyncio.sleep(0.05)
        async with context.uow() as uow:
            await uow.session.execute(
                insert(ledger).values(
                    id=uuid.uuid4().hex,
                    name=entry.name,
                    planned_start=entry.planned_start,
                    created_by=caller.subject,
                )
            )
            await uow.commit()

    FOLLOW_UPS.append(asyncio.create_task(write()))
    return {"status": "accepted"}


@router.post("/ledger/core", status_code=201)
async def add_with_core(
    entry: LedgerEntry, context: Ctx, caller: Releaser, fail_after: bool = False, tx: bool = True
) -> dict[str, str]:
    """Writes without a unit of work (through `context.transaction`, or the bare engine when
    `tx` is false), then fails when asked to."""
    values = {
        "id": uuid.uuid4().hex,
        "name": entry.name,
        "planned_start": entry.planned_start,
        "created_by": caller.subject,
    }
    if tx:
        async with context.transaction() as conn:
            await conn.execute(insert(ledger).values(**values))
    else:
        async with context.engine.begin() as conn:
            await conn.execute(insert(ledger).values(**values))
    if fail_after:
        raise RuntimeError("failed after the commit")
    return {"id": values["id"]}


@router.post("/ledger/slow-tail", status_code=201)
async def add_with_slow_tail(
    entry: LedgerEntry, context: Ctx, caller: Releaser, background: BackgroundTasks
) -> dict[str, str]:
    """Answers, then keeps a background task busy for a second."""
    background.add_task(asyncio.sleep, 1.0)
    return {"name": entry.name}


@router.post("/webhooks/ping", status_code=202)
async def ping(context: Ctx) -> dict[str, int]:
    context.extras["pings"] = context.extras.get("pings", 0) + 1
    return {"pings": context.extras["pings"]}


subscriptions: Subscriptions[UnitOfWork] = Subscriptions()
FAILING: set[str] = set()
"""Reasons of ChangeRejected events whose handler fails (tests switch it)."""
UNAVAILABLE: dict[str, int] = {}
"""Reason -> how many more times the handler finds the database unavailable."""


async def _record(envelope: Envelope[Any], uow: UnitOfWork) -> None:
    span = trace.get_current_span().get_span_context()
    async with uow:
        await uow.session.execute(
            insert(seen).values(
                event_id=envelope.id,
                event_type=envelope.type,
                subject=envelope.subject,
                trace_id=f"{span.trace_id:032x}" if span.is_valid else None,
            )
        )
        await uow.commit()


@subscriptions.on(ReleasePlanned)
async def on_release_planned(envelope: Envelope[Any], uow: UnitOfWork) -> None:
    await _record(envelope, uow)


@subscriptions.on(ChangeRejected)
async def on_change_rejected(envelope: Envelope[Any], uow: UnitOfWork) -> None:
    async with uow:
        await uow.session.execute(
            insert(seen).values(
                event_id=envelope.id, event_type=envelope.type, subject=envelope.subject
            )
        )
        if envelope.data.reason in FAILING:
            raise RuntimeError(f"cannot handle reason {envelope.data.reason!r}")
        if UNAVAILABLE.get(envelope.data.reason, 0) > 0:
            UNAVAILABLE[envelope.data.reason] -= 1
            raise OperationalError("SELECT 1", {}, ConnectionError("database restarting"))
        await uow.commit()


SPEC = ServiceSpec(
    name="sample",
    title="Sample",
    description="A service made of the kit alone.",
    routers=[router],
    subscriptions=subscriptions,
)


def create_app(settings: SampleSettings) -> Any:
    return create_service_app(SPEC, settings)


async def count_seen(context: Any, event_type: str | None = None) -> int:
    statement = select(func.count()).select_from(seen)
    if event_type:
        statement = statement.where(seen.c.event_type == event_type)
    async with context.engine.connect() as conn:
        return int(await conn.scalar(statement) or 0)
