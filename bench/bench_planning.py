"""Planning figures (issue 3), through the real service (uvicorn in its own process, httpx
over TCP; or in-process over ASGI) on PostgreSQL:

- `POST /releases/{id}/scope` for releases of 200 items with 400 dependency edges
  (every rule checked, blackouts expanded, ReleaseScoped staged): p99 < 100 ms;
- `GET /releases` with 10,000 releases stored, at 200 requests/s with a mix of filters and
  follow-up pages: p99 < 20 ms.

Baselines in the same run and through the same client: `GET /healthz` (the app's floor), and
`GET /releases/{id}` (one release with everything it carries) for the scope figure.
`FLIGHTDECK_BENCH_PLANNING_SCALE` (default 1.0) shrinks the datasets for a quick run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from bench.harness import Bench, Report, summary_ms
from flightdeck.events.embedded import free_port
from flightdeck.kit.app import heap_frozen
from flightdeck.kit.db import create_engine
from flightdeck.kit.testing import Tokens, running, test_settings
from flightdeck.planning import SERVICE_DIR
from flightdeck.planning.app import create_app
from flightdeck.planning.db import tables
from flightdeck.planning.settings import PlanningSettings

SCALE = float(os.environ.get("FLIGHTDECK_BENCH_PLANNING_SCALE", "1.0"))
TRANSPORT = os.environ.get("FLIGHTDECK_BENCH_PLANNING_TRANSPORT", "uvicorn")
"""`uvicorn` (the service as its own process, over TCP) or `asgi` (in this process)."""
ITEMS = 200
EDGES = 400
SCOPINGS = max(10, int(100 * SCALE))
"""Releases frozen (one timed `POST /scope` each)."""
WARM = 5
"""Releases read and frozen first, untimed."""
STORED = int(10_000 * SCALE)
"""Releases stored for the list figure."""
RATE = 200
SECONDS = max(2, int(15 * SCALE))
START = datetime(2027, 1, 4, 8, tzinfo=UTC)
TEAMS = [f"team-{n}" for n in range(20)]
SERVICES = [f"svc-{n}" for n in range(100)]
STATES = ["draft", "scoped", "in_progress", "released", "cancelled"]


def dependency_graph(count: int, edges: int, seed: int = 3) -> list[list[int]]:
    """For each item, the earlier items it depends on: `edges` distinct edges, acyclic."""
    rng = random.Random(seed)
    needs: list[set[int]] = [set() for _ in range(count)]
    placed = 0
    while placed < edges:
        later = rng.randrange(1, count)
        earlier = rng.randrange(0, later)
        if earlier not in needs[later]:
            needs[later].add(earlier)
            placed += 1
    return [sorted(n) for n in needs]


def item_batch(prefix: str) -> dict[str, Any]:
    """200 items, 400 edges, a commit each; a few behind documented toggles."""
    graph = dependency_graph(ITEMS, EDGES)
    return {
        "items": [
            {
                "id": f"{prefix}-{n}",
                "kind": ("feature", "fix", "chore")[n % 3],
                "title": f"Item {n}",
                "priority": 1 + n % 5,
                "regulatory": n % 50 == 0,
                "depends_on": [f"{prefix}-{m}" for m in needs],
                "commits": [
                    {"repo": "shop/app", "sha": f"{n:08x}", "authored_at": "2026-12-01T10:00:00Z"}
                ],
                "feature_toggle": "bench-toggle" if n % 20 == 0 else None,
            }
            for n, needs in enumerate(graph)
        ]
    }


async def prepare_release(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> str:
    """A draft release of 200 items meeting every rule, ready to be scoped."""
    start = START + timedelta(days=n)
    body = {
        "name": f"Bench {n}",
        "version": f"1.{n}.0",
        "services": ["checkout", "payments"],
        "team": "payments",
        "target_environment": "production",
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=2)).isoformat(),
        "owner": "olga",
    }
    rid = str((await _ok(client.post("/releases", json=body, headers=headers)))["id"])
    await _ok(
        client.post(f"/releases/{rid}/items/batch", json=item_batch(rid[:8]), headers=headers)
    )
    criteria = [
        {"metric": "error_rate", "comparator": "gt", "threshold": 0.02, "window_seconds": 300}
    ]
    await _ok(client.put(f"/releases/{rid}/rollback-criteria", json=criteria, headers=headers))
    toggle = {"key": "bench-toggle", "owner": "olga", "default": False, "remove_by": "2027-06-30"}
    await _ok(client.post(f"/releases/{rid}/toggles", json=toggle, headers=headers))
    for function in ("dev", "qa", "ops", "security"):
        sign = {"function": function, "decision": "approve"}
        await _ok(client.post(f"/releases/{rid}/signoffs", json=sign, headers=headers))
    return rid


async def _ok(request: Awaitable[httpx.Response]) -> dict[str, Any]:
    response = await request
    if response.status_code >= 300:
        raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


async def declare_blackouts(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Weekly night-time blackouts the bench windows never hit, so each scope expands them."""
    for n in range(5):
        body = {
            "name": f"Night freeze {n}",
            "reason": "other",
            "starts_at": f"2026-12-0{n + 1}T22:00:00+01:00",
            "ends_at": f"2026-12-0{n + 2}T05:00:00+01:00",
            "timezone": "Europe/Berlin",
            "rrule": "FREQ=WEEKLY",
        }
        await _ok(client.post("/calendar/blackouts", json=body, headers=headers))


async def timed(call: Callable[[], Awaitable[httpx.Response | RawResponse]]) -> float:
    """Seconds one successful request took."""
    started = time.perf_counter()
    response = await call()
    elapsed = time.perf_counter() - started
    if response.status_code >= 300:
        raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
    return elapsed


class RawClient:
    """A minimal HTTP/1.1 keep-alive GET client for load generation: at 200 requests/s
    httpx's own CPU per request would compete with the service for the two cores."""

    def __init__(self, host: str, port: int, headers: dict[str, str], connections: int) -> None:
        self._address = (host, port)
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._size = connections
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._open: list[asyncio.StreamWriter] = []

    async def get(self, path: str, params: dict[str, Any] | None = None) -> RawResponse:
        """GET `path` on a free connection (a new one while fewer than the pool size)."""
        if self._idle.empty() and len(self._open) < self._size:
            reader, writer = await asyncio.open_connection(*self._address)
            self._open.append(writer)
        else:
            reader, writer = await self._idle.get()
        target = f"{path}?{httpx.QueryParams(params)}" if params else path
        writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{self._headers}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
        self._idle.put_nowait((reader, writer))
        return RawResponse(status, body)

    async def close(self) -> None:
        for writer in self._open:
            writer.close()


@dataclass(frozen=True)
class RawResponse:
    """Status and body, enough for `timed`."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


async def at_rate(
    call: Callable[[int], Awaitable[httpx.Response | RawResponse]], rate: int, seconds: int
) -> list[float]:
    """Latencies of `rate * seconds` requests started on an open-loop schedule."""
    with heap_frozen():
        started = time.perf_counter()
        tasks = []
        for n in range(rate * seconds):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(timed(lambda n=n: call(n))))  # type: ignore[misc]
        return list(await asyncio.gather(*tasks))


async def store_releases(url: str, count: int) -> None:
    """`count` releases spread over teams, services, states and three years (Core inserts)."""
    rng = random.Random(7)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for offset in range(0, count, 2000):
                rows, links = [], []
                for n in range(offset, min(offset + 2000, count)):
                    start = START + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
                    services = rng.sample(SERVICES, 2)
                    rid = str(uuid.uuid4())
                    rows.append(_release_row(rid, n, start, services, rng))
                    links += [
                        {"release_id": rid, "service": s, "planned_start": start} for s in services
                    ]
                await conn.execute(insert(tables.releases), rows)
                await conn.execute(insert(tables.release_services), links)
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()


def _release_row(
    rid: str, n: int, start: datetime, services: list[str], rng: random.Random
) -> dict[str, Any]:
    return {
        "id": rid,
        "name": f"Stored {n}",
        "version": f"3.{n}.0",
        "services": services,
        "team": rng.choice(TEAMS),
        "target_environment": "production",
        "planned_start": start,
        "planned_end": start + timedelta(hours=2),
        "owner": "olga",
        "state": rng.choice(STATES),
        "resource_version": 1,
        "rollback_criteria": [],
        "created_by": "bench",
        "created_at": START,
    }


def list_query(n: int, rng: random.Random, cursors: list[str]) -> dict[str, Any]:
    """The n-th request's parameters: no filter, a state, a team, a service, a date range,
    combinations, and follow-up pages."""
    month = START + timedelta(days=30 * rng.randrange(0, 36))
    choices: list[dict[str, Any]] = [
        {},
        {"state": rng.choice(STATES)},
        {"team": rng.choice(TEAMS)},
        {"service": rng.choice(SERVICES)},
        {"from": month.isoformat(), "to": (month + timedelta(days=30)).isoformat()},
        {"team": rng.choice(TEAMS), "state": rng.choice(STATES)},
        {"service": rng.choice(SERVICES), "from": month.isoformat()},
    ]
    if cursors and n % 5 == 4:
        return {"cursor": cursors[rng.randrange(len(cursors))]}
    return choices[n % len(choices)]


@contextlib.asynccontextmanager
async def planning_app(bench: Bench, url: str, workdir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the planning service on `url` (its relay publishing to the bench broker):
    a real uvicorn process by default, or the app in this process over ASGI."""
    tokens = Tokens(workdir / "tokens.json")
    kafka = bench.kafka()
    if TRANSPORT == "asgi":
        settings = test_settings(
            PlanningSettings,
            database_url=url,
            kafka=kafka,
            tokens_file=tokens.path,
            var_dir=workdir,
            consumer_enabled=False,
            log_level="WARNING",
        )
        async with running(create_app(settings)) as client:
            client.headers.update(tokens.headers("bench", "admin"))
            yield client
        return
    port = free_port()
    env = {
        **os.environ,
        "FLIGHTDECK_PLANNING_DATABASE_URL": url,
        "FLIGHTDECK_PLANNING_PORT": str(port),
        "FLIGHTDECK_PLANNING_CONSUMER_ENABLED": "false",
        "FLIGHTDECK_TOKENS_FILE": str(tokens.path),
        "FLIGHTDECK_VAR_DIR": str(workdir),
        "FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FLIGHTDECK_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "FLIGHTDECK_LOG_LEVEL": "WARNING",
    }
    headers = tokens.headers("bench", "admin")
    command = [sys.executable, "-m", "flightdeck.cli.main", "serve", "planning"]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=30
        ) as client:
            await _ready(client)
            yield client
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)


async def _ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("the planning service never answered")


async def scope_figures(bench: Bench, report: Report, workdir: Path) -> None:
    url = await bench.databases.create("planning", service_dir=SERVICE_DIR)
    async with planning_app(bench, url, workdir) as client:
        headers: dict[str, str] = {}
        await declare_blackouts(client, headers)
        releases = [await prepare_release(client, headers, n) for n in range(SCOPINGS + WARM)]
        warm, releases = releases[:WARM], releases[WARM:]
        for rid in warm:  # warm up the pool, prepared statements and caches
            await timed(lambda rid=rid: client.get(f"/releases/{rid}"))  # type: ignore[misc]
            await timed(lambda rid=rid: client.post(f"/releases/{rid}/scope"))  # type: ignore[misc]
        health = [await timed(lambda: client.get("/healthz")) for _ in range(SCOPINGS)]
        reads = [
            await timed(lambda rid=rid: client.get(f"/releases/{rid}"))  # type: ignore[misc]
            for rid in releases
        ]
        with heap_frozen():
            scopes = [
                await timed(lambda rid=rid: client.post(f"/releases/{rid}/scope"))  # type: ignore[misc]
                for rid in releases
            ]
    figures, read, floor = summary_ms(scopes), summary_ms(reads), summary_ms(health)
    report.figures.update({f"scope_200_items_{k}": v for k, v in figures.items()})
    report.baselines.update({f"read_release_200_items_{k}": v for k, v in read.items()})
    report.baselines.update({f"healthz_{k}": v for k, v in floor.items()})
    report.ratios["scope_p99_vs_read_release_p99"] = figures["p99_ms"] / read["p99_ms"]
    report.ratios["scope_p99_vs_healthz_p99"] = figures["p99_ms"] / floor["p99_ms"]
    report.target(
        "scope_200_items_p99_ms",
        f"< 100 ({SCOPINGS} releases of {ITEMS} items, {EDGES} edges)",
        figures["p99_ms"] < 100,
    )


def load_generator(client: httpx.AsyncClient) -> httpx.AsyncClient | RawClient:
    """What drives the rate: the raw client against a real server, else the ASGI client."""
    if TRANSPORT == "asgi":
        return client
    url = client.base_url
    headers = {"Authorization": client.headers["Authorization"]}
    return RawClient(url.host, url.port or 80, headers, connections=50)


async def list_figures(bench: Bench, report: Report, workdir: Path) -> None:
    url = await bench.databases.create("planning", service_dir=SERVICE_DIR)
    await store_releases(url, STORED)
    async with planning_app(bench, url, workdir) as client:
        rng = random.Random(11)
        cursors: list[str] = []
        for _ in range(20):  # warm up, and collect cursors for follow-up pages
            page = await _ok(client.get("/releases", params={"limit": 50}))
            if page["next_cursor"]:
                cursors.append(page["next_cursor"])
            team = await _ok(client.get("/releases", params={"team": rng.choice(TEAMS)}))
            if team["next_cursor"]:
                cursors.append(team["next_cursor"])
        load = load_generator(client)
        health = await at_rate(lambda _n: load.get("/healthz"), RATE, SECONDS)

        def listing(n: int) -> Awaitable[httpx.Response | RawResponse]:
            return load.get("/releases", params=list_query(n, rng, cursors))

        lists = await at_rate(listing, RATE, SECONDS)
        if isinstance(load, RawClient):
            await load.close()
    figures, floor = summary_ms(lists), summary_ms(health)
    report.figures.update({f"list_releases_{k}": v for k, v in figures.items()})
    report.baselines.update({f"healthz_at_{RATE}_rps_{k}": v for k, v in floor.items()})
    report.ratios["list_p99_vs_healthz_p99"] = figures["p99_ms"] / floor["p99_ms"]
    report.target(
        "list_releases_p99_ms",
        f"< 20 at {RATE} req/s with {STORED} releases",
        figures["p99_ms"] < 20,
    )


async def run(bench: Bench) -> Report:
    report = Report("planning")
    workdir = Path(bench.databases.workdir)
    await scope_figures(bench, report, workdir)
    await list_figures(bench, report, workdir)
    report.notes.append(
        f"{bench.backend}; transport {TRANSPORT}; scale {SCALE}; list mix of no "
        "filter, state, team, service, date range, combinations and follow-up cursor pages"
    )
    return report
