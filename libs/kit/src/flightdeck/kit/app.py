"""The app factory: a FastAPI app with the kit's middleware, error handling and operational
routes, and a lifespan that starts and stops the service's background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from flightdeck.events.consumer import BatchHandler, ConsumerRunner, RetryPolicy
from flightdeck.events.kafka import ProducerHandle
from flightdeck.events.relay import OutboxRelay
from flightdeck.kit import logs, openapi, problems, telemetry
from flightdeck.kit.auth import TokenStore
from flightdeck.kit.context import ServiceContext
from flightdeck.kit.db import create_engine, is_postgres, readonly, session_factory
from flightdeck.kit.http import BodyLimit, JsonOnly, NulRefused, RequestContext
from flightdeck.kit.idempotency import IdempotencyStore
from flightdeck.kit.idempotent_posts import IdempotentPosts
from flightdeck.kit.leases import Lease
from flightdeck.kit.messaging import Subscriptions
from flightdeck.kit.ops import router as ops_router
from flightdeck.kit.settings import ServiceSettings
from flightdeck.kit.uow import UnitOfWork

log = logging.getLogger(__name__)

BackgroundTask = Callable[[ServiceContext], Awaitable[None]]
StartupHook = Callable[[ServiceContext], Awaitable[None]]


@dataclass
class ServiceSpec:
    """What makes one service different from the others."""

    name: str
    title: str
    description: str
    routers: Sequence[APIRouter] = ()
    subscriptions: Subscriptions[Any] = field(default_factory=Subscriptions)
    extra_topics: Sequence[str] = ()
    """Logical topics consumed beyond those of the subscriptions (e.g. every topic)."""
    batch_handler: Callable[[ServiceContext], BatchHandler] | None = None
    batches_in_flight: int = 1
    """With a batch handler on PostgreSQL, how many fetches may be handled at once (the next
    one is decoded and started while earlier ones wait on the database). SQLite serialises
    writers, so there it is always 1."""
    keep_unknown_types: bool = False
    """Hand well-formed events of types this codebase does not know to the handlers, with
    opaque data, instead of skipping them (the metrics log keeps every event)."""
    uow_class: type[UnitOfWork] = UnitOfWork
    background: Sequence[BackgroundTask] = ()
    """Long-running tasks (schedulers); each runs until cancelled at shutdown."""
    on_startup: Sequence[StartupHook] = ()
    raw_body_prefixes: Sequence[str] = ("/webhooks",)
    """Paths whose bodies are not JSON and may be up to the webhook limit."""
    version: str = "0.1.0"


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    """The FastAPI app of a service; nothing connects until the lifespan starts."""
    registry = CollectorRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = _build_context(spec, settings, registry)
        app.state.context = context
        tasks: list[asyncio.Task[None]] = []
        try:
            for hook in spec.on_startup:
                await hook(context)
            tasks = _start_tasks(spec, context)
            log.info("%s started on port %d", spec.name, settings.port)
            with heap_frozen():
                yield
        finally:
            await _stop(context, tasks)

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
    )
    logs.configure(spec.name, settings.log_level, settings.log_json)
    telemetry.configure(spec.name, settings.otlp_endpoint)
    problems.install(app)
    openapi.install(app)
    app.include_router(ops_router)
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(
        IdempotentPosts,
        store=lambda: _from_context(app, "idempotency"),
        tokens=lambda: _from_context(app, "tokens"),
        skip_prefixes=tuple(spec.raw_body_prefixes),
    )
    app.add_middleware(NulRefused, raw_prefixes=spec.raw_body_prefixes)
    app.add_middleware(JsonOnly, raw_prefixes=spec.raw_body_prefixes)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        large_limit=settings.max_webhook_body_bytes,
        large_prefixes=spec.raw_body_prefixes,
    )
    app.add_middleware(RequestContext, registry=registry)
    telemetry.instrument(app)
    return app


def _from_context(app: FastAPI, name: str) -> Any:
    context: ServiceContext | None = getattr(app.state, "context", None)
    return getattr(context, name) if context is not None else None


def _build_context(
    spec: ServiceSpec, settings: ServiceSettings, registry: CollectorRegistry
) -> ServiceContext:
    engine = create_engine(settings.database_url)
    kafka = settings.kafka()
    context = ServiceContext(
        name=spec.name,
        settings=settings,
        engine=engine,
        reader=readonly(engine),
        sessions=session_factory(engine),
        tokens=TokenStore(settings.tokens_file, settings.tokens_json),
        kafka=kafka,
        registry=registry,
        idempotency=IdempotencyStore(engine),
        uow_class=spec.uow_class,
    )
    producer = ProducerHandle(kafka)
    if settings.relay_enabled:
        # PostgreSQL replicas share the outbox (advisory lock); on SQLite one relay may run.
        lease = None if is_postgres(engine) else Lease(engine, "outbox-relay")
        context.relay_lease = lease
        context.relay = OutboxRelay(
            engine,
            kafka,
            producer=producer,
            batch_size=settings.relay_batch_size,
            poll_interval=settings.relay_poll_seconds,
            registry=registry,
            guard=lease.held if lease is not None else None,
            reader=context.reader,
        )
    topics = [*spec.subscriptions.topics, *spec.extra_topics]
    if settings.consumer_enabled and topics:
        accepts = spec.subscriptions.types if not spec.extra_topics else None
        context.runner = ConsumerRunner(
            kafka,
            group=spec.name,
            topics=sorted(set(topics)),
            handle=spec.subscriptions.dispatcher(context.uow),
            accepts=accepts,
            batch_handle=spec.batch_handler(context) if spec.batch_handler else None,
            retry=RetryPolicy(
                max_attempts=settings.consumer_max_attempts,
                backoff_base=settings.consumer_backoff_seconds,
            ),
            producer=producer,
            registry=registry,
            stale_after=settings.consumer_stale_seconds,
            keep_unknown=spec.keep_unknown_types,
            batches_in_flight=(
                spec.batches_in_flight if context.engine.dialect.name == "postgresql" else 1
            ),
        )
    context.producer = producer
    return context


def _start_tasks(spec: ServiceSpec, context: ServiceContext) -> list[asyncio.Task[None]]:
    tasks = []
    if context.relay is not None:
        relay = context.relay
        tasks.append(asyncio.create_task(_supervised(relay), name=f"{spec.name}-relay"))
    if context.runner is not None:
        runner = context.runner
        tasks.append(asyncio.create_task(_supervised(runner), name=f"{spec.name}-consumer"))
    tasks.append(asyncio.create_task(_housekeeping(context), name=f"{spec.name}-housekeeping"))
    for job in spec.background:
        tasks.append(
            asyncio.create_task(_guarded(job, context), name=f"{spec.name}-{job.__name__}")
        )
    return tasks


class _Loop(Protocol):
    @property
    def stopping(self) -> bool: ...

    async def run(self) -> None: ...


async def _supervised(loop: _Loop) -> None:
    """Run the relay or consumer until it is stopped; should it ever end (or crash) before,
    say so and start it again."""
    while not loop.stopping:
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s crashed", type(loop).__name__)
        if not loop.stopping:
            log.error("%s ended unexpectedly; starting it again", type(loop).__name__)
            await asyncio.sleep(1)


async def _guarded(
    job: Callable[[ServiceContext], Awaitable[None]], context: ServiceContext
) -> None:
    """Run a background job forever: a crash is logged and the job restarted."""
    while True:
        try:
            await job(context)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s crashed; restarting in 5s", job.__name__)
            await asyncio.sleep(5)


async def _housekeeping(context: ServiceContext) -> None:
    """Drop idempotency keys and inbox entries past their retention, hourly."""
    from flightdeck.events.inbox import forget_before

    while True:
        now = context.clock()
        try:
            await context.idempotency.purge(now - timedelta(hours=24))
            async with context.engine.begin() as conn:
                await forget_before(conn, now - timedelta(days=30))
        except Exception:
            log.exception("housekeeping failed")
        await asyncio.sleep(3600)


GC_THRESHOLDS = (100_000, 20, 10)
"""The cyclic collector's thresholds while a service runs. At Python's default (a young
collection every 700 allocations) a consumer's batch of thousands of rows is scanned again and
again while it is built: the metrics ingest spent about an eighth of its time collecting. With
these, a young collection comes every 100,000 allocations and a full one every 20 million
(or later, as Python defers it while the old generation grows): garbage cycles wait a little
longer, and are still collected."""


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """Keep what is on the heap now out of the cyclic collector's sight until the block ends,
    and collect less often meanwhile (`GC_THRESHOLDS`).

    Services run inside it once started (modules, schemas and the app stay put): a full
    collection then scans only what requests allocate, and its pauses drop from tens of
    milliseconds to a few (measured in the planning benchmark). Benchmarks use it too.
    """
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _stop(context: ServiceContext, tasks: list[asyncio.Task[None]]) -> None:
    if context.runner is not None:
        context.runner.stop()
    if context.relay is not None:
        context.relay.stop()
    graceful = [t for t in tasks if t.get_name().endswith(("-relay", "-consumer"))]
    _, pending = await asyncio.wait(graceful, timeout=15) if graceful else (set(), set())
    for task in [*pending, *(t for t in tasks if t not in graceful)]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if context.producer is not None:
        await context.producer.close()
    lease = context.relay_lease
    if lease is not None:
        with contextlib.suppress(Exception):
            await lease.release()
    await context.engine.dispose()
    telemetry.shutdown()
