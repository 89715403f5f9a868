"""What every benchmark shares: the embedded broker, a scratch database, timing helpers and
the JSON report (figures, baselines measured in the same run, ratios, targets)."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from flightdeck.events.embedded import EmbeddedBroker
from flightdeck.events.kafka import KafkaSettings
from flightdeck.kit.testing import DatabaseFactory

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/flightdeck_bench"


@dataclass
class Report:
    """One benchmark's result."""

    name: str
    figures: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    met: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def target(self, figure: str, description: str, ok: bool) -> None:
        """Record whether a target was met."""
        self.targets[figure] = description
        self.met[figure] = bool(ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "figures": {k: round(v, 3) for k, v in self.figures.items()},
            "baselines": {k: round(v, 3) for k, v in self.baselines.items()},
            "ratios": {k: round(v, 3) for k, v in self.ratios.items()},
            "targets": self.targets,
            "met": self.met,
            "notes": self.notes,
        }


@dataclass
class Bench:
    """Resources shared by the benchmarks of one run."""

    broker: EmbeddedBroker
    databases: DatabaseFactory

    def kafka(self, **overrides: Any) -> KafkaSettings:
        """Kafka settings in a namespace of their own."""
        values: dict[str, Any] = {
            "bootstrap_servers": self.broker.bootstrap_servers,
            "topic_prefix": f"b{uuid.uuid4().hex[:8]}.",
            "session_timeout_ms": 2000,
            "heartbeat_interval_ms": 300,
        }
        values.update(overrides)
        return KafkaSettings(**values)

    @property
    def backend(self) -> str:
        return self.databases.backend


@asynccontextmanager
async def bench_resources(tmp: Any) -> AsyncIterator[Bench]:
    """Start the broker and pick PostgreSQL when it answers (SQLite otherwise)."""
    broker = EmbeddedBroker()
    broker.start()
    await broker.wait_ready()
    url = os.environ.get("FLIGHTDECK_BENCH_DATABASE_URL", DEFAULT_POSTGRES)
    backend = "postgresql" if await _postgres_answers(url) else "sqlite"
    databases = DatabaseFactory(backend, tmp, url if backend == "postgresql" else None)
    try:
        yield Bench(broker, databases)
    finally:
        if backend == "postgresql":
            await databases.close()
        broker.stop()


async def _postgres_answers(url: str) -> bool:
    try:
        import asyncpg
        from sqlalchemy.engine import make_url

        parsed = make_url(url).set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(parsed.render_as_string(hide_password=False), timeout=3)
        await connection.close()
    except Exception:
        return False
    return True


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (as PostgreSQL percentile_cont)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(latencies: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of latencies given in seconds, in milliseconds."""
    return {
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p90_ms": percentile(latencies, 0.9) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


class Timer:
    """`with Timer() as t: ...; t.seconds`."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


Benchmark = Callable[[Bench], Any]
