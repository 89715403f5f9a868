"""Operational routes every service answers: health, readiness, metrics, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text

from flightdeck.events.deadletters import (
    DeadLetterSummary,
    read_dead_letters,
    replay_dead_letters,
)
from flightdeck.kit.context import ServiceContext
from flightdeck.kit.deps import Admin, Ctx, Operator
from flightdeck.kit.problems import Problem

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.head("/healthz", include_in_schema=False)
@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/readyz", include_in_schema=False)
@router.get(
    "/readyz",
    summary="Database and broker reachable",
    responses={503: {"description": "database or broker unreachable"}},
)
async def readyz(context: Ctx) -> JSONResponse:
    database, broker = await asyncio.gather(_database_ok(context), _broker_ok(context))
    ready = database and broker
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {
            "database": "ok" if database else "unreachable",
            "broker": "ok" if broker else "unreachable",
        },
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def _database_ok(context: ServiceContext) -> bool:
    try:
        async with asyncio.timeout(2):
            async with context.reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _broker_ok(context: ServiceContext) -> bool:
    return await context.broker.reachable()


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(context: Ctx) -> Response:
    if context.relay is not None:
        await context.relay.pending()
    if context.runner is not None:
        context.runner.lag()
    return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)


class ReplayRequest(BaseModel):
    """Which dead letters to put back: the listed events, or explicitly all of them."""

    model_config = ConfigDict(extra="forbid")

    event_ids: list[str] | None = Field(None, min_length=1)
    all: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> ReplayRequest:
        if (self.event_ids is None) == (not self.all):
            raise ValueError('send either "event_ids": [...] or "all": true')
        return self


@router.get("/admin/dlq", summary="Records this service's consumer dead-lettered")
async def list_dead_letters(
    context: Ctx, _caller: Operator, limit: int = Query(100, ge=1, le=10_000)
) -> list[DeadLetterSummary]:
    async with _broker_call("list dead letters"):
        letters = await read_dead_letters(context.kafka, context.name, limit=limit)
    return [letter.summary() for letter in letters]


@router.post("/admin/dlq/replay", summary="Publish dead letters back onto their topics")
async def replay(context: Ctx, _caller: Admin, request: ReplayRequest) -> dict[str, Any]:
    ids = set(request.event_ids) if request.event_ids is not None else None
    async with _broker_call("replay dead letters"):
        replayed = await replay_dead_letters(context.kafka, context.name, event_ids=ids)
    found = {letter.event_id for letter in replayed}
    return {
        "replayed": len(replayed),
        "event_ids": [letter.event_id for letter in replayed],
        "not_found": sorted((ids or set()) - found),
    }


@contextlib.asynccontextmanager
async def _broker_call(what: str, seconds: float = 30) -> AsyncIterator[None]:
    """503 problem when the broker does not answer in time."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except (KafkaError, OSError, TimeoutError) as exc:
        detail = f"cannot {what}: the broker is unavailable ({type(exc).__name__})"
        raise Problem(503, detail, slug="broker-unavailable", headers={"Retry-After": "5"}) from exc
