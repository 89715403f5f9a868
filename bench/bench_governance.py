"""Governance figures (issue 4): risk scoring of a change whose service and team have five
years of history (100,000 outcomes) p99 < 20 ms, against the same failure history counted
from the raw deployment rows; and `GET /audit/verify` over 1,000,000 chained records < 10 s,
against hashing the same bytes in memory and a plain streamed SELECT of every record.

`FLIGHTDECK_BENCH_GOVERNANCE_SCALE` (default 1.0) shrinks both datasets for a quick run."""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.harness import Bench, Report, Timer, summary_ms
from flightdeck.cli.registry import service
from flightdeck.governance.db.audit import VERIFY_COLUMNS, record_batches, verify_chain
from flightdeck.governance.db.history import PRODUCTION
from flightdeck.governance.db.policies import seed_default
from flightdeck.governance.db.tables import audit_head, audit_records, deployments, failure_buckets
from flightdeck.governance.domain.audit import GENESIS, canonical, chain
from flightdeck.governance.domain.lifecycle import ChangeDraft
from flightdeck.governance.domain.model import Complexity, Impact, Urgency
from flightdeck.governance.domain.policy import Policy
from flightdeck.governance.service.changes import assess
from flightdeck.kit.db import create_engine

SCALE = float(os.environ.get("FLIGHTDECK_BENCH_GOVERNANCE_SCALE", "1.0"))
OUTCOMES = int(100_000 * SCALE)
"""Outcomes of the scored change's service and team, over five years."""
OTHER_OUTCOMES = int(100_000 * SCALE)
"""Outcomes of 50 other services and teams, so lookups have neighbours to skip."""
AUDIT_RECORDS = int(1_000_000 * SCALE)
SCORINGS = 500
CHUNK = 50_000
FIVE_YEARS = timedelta(days=5 * 365)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = Policy(failure_window_days=5 * 365)
"""The history window covers all five years, so every outcome counts."""


async def _copy(
    conn: AsyncConnection, table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Bulk-load rows (COPY on PostgreSQL, executemany on SQLite)."""
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(table, records=rows, columns=columns)  # type: ignore[union-attr]
        return
    target = audit_records if table == "audit_records" else deployments
    await conn.execute(insert(target), [dict(zip(columns, row, strict=True)) for row in rows])


def _outcome(n: int, service: str, team: str, rng: random.Random) -> tuple[Any, ...]:
    finished = NOW - timedelta(seconds=rng.uniform(0, FIVE_YEARS.total_seconds()))
    failed = rng.random() < 0.15
    return (f"{service}-{n}", service, team, "production", PRODUCTION,
            "failed" if failed else "succeeded", failed, None, finished)  # fmt: skip


async def load_history(engine: AsyncEngine) -> None:
    """Outcomes of the scored service and team and of others, and their daily aggregate
    (as the DeploymentFinished handler keeps it)."""
    rng = random.Random(4)
    columns = ["deployment_id", "service", "team", "environment", "tier", "outcome", "failed",
               "change_id", "finished_at"]  # fmt: skip
    rows = [_outcome(n, "checkout", "payments", rng) for n in range(OUTCOMES)]
    rows += [_outcome(n, f"svc{n % 50}", f"team{n % 50}", rng) for n in range(OTHER_OUTCOMES)]
    async with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await _copy(conn, "deployments", columns, rows[start : start + CHUNK])
        day = func.date(deployments.c.finished_at)
        await conn.execute(
            insert(failure_buckets).from_select(
                ["service", "team", "day", "deployments", "failures"],
                select(
                    deployments.c.service,
                    deployments.c.team,
                    day,
                    func.count(),
                    func.sum(case((deployments.c.failed, 1), else_=0)),
                ).group_by(deployments.c.service, deployments.c.team, day),
            )
        )
        await seed_default(conn, NOW)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE")


def _draft() -> ChangeDraft:
    start = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    return ChangeDraft(
        id="bench", title="bench", services=("checkout",), environment="production",
        urgency=Urgency.MEDIUM, impact=Impact.MEDIUM, complexity=Complexity.LOW,
        schema_changes=False, planned_start=start, planned_end=start + timedelta(hours=1),
        requested_by="bench", team="payments",
    )  # fmt: skip


async def naive_history(conn: AsyncConnection) -> tuple[int, int]:
    """The same failure history counted from the raw deployment rows."""
    since = NOW - timedelta(days=POLICY.failure_window_days)
    row = (
        await conn.execute(
            select(func.count(), func.sum(case((deployments.c.failed, 1), else_=0))).where(
                deployments.c.service == "checkout",
                deployments.c.team == "payments",
                deployments.c.tier == PRODUCTION,
                deployments.c.finished_at >= since,
            )
        )
    ).one()
    return int(row[0]), int(row[1] or 0)


async def time_scoring(engine: AsyncEngine) -> tuple[list[float], list[float], float]:
    """Latencies of the risk assessment and of the naive count; the scored failure rate."""
    draft, scored, naive = _draft(), [], []
    async with engine.connect() as conn:
        assessment = await assess(conn, draft, POLICY, NOW)
        expected = await naive_history(conn)
        rate = next(f.value for f in assessment.factors if f.factor == "failure_history")
        assert abs(rate - expected[1] / expected[0]) < 1e-3, (rate, expected)
        for _ in range(SCORINGS):
            started = time.perf_counter()
            await assess(conn, draft, POLICY, NOW)
            scored.append(time.perf_counter() - started)
            started = time.perf_counter()
            await naive_history(conn)
            naive.append(time.perf_counter() - started)
    return scored, naive, rate


async def load_audit(engine: AsyncEngine) -> list[bytes]:
    """Chain and store the records; returns their canonical bytes (for the hashing baseline)."""
    columns = ["seq", "subject", "action", "actor", "at", "reason", "evidence", "previous_hash",
               "hash"]  # fmt: skip
    seq, previous, hashed = 0, GENESIS, []
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as conn:
        for start in range(0, AUDIT_RECORDS, CHUNK):
            count = min(CHUNK, AUDIT_RECORDS - start)
            entries = [
                (f"chg-{n // 7}", "approval", f"user{n % 40}", NOW + timedelta(seconds=n),
                 "approved", {"role": "cab", "policy_version": 1, "n": n})
                for n in range(start, start + count)
            ]  # fmt: skip
            records = chain(seq, previous, entries)
            seq, previous = records[-1].seq, records[-1].hash
            hashed += [canonical(*_parts(r)) for r in records]
            rows = [
                (r.seq, r.subject, r.action, r.actor, r.at, r.reason,
                 orjson.dumps(r.evidence).decode() if postgres else r.evidence,
                 r.previous_hash, r.hash)
                for r in records
            ]  # fmt: skip
            await _copy(conn, "audit_records", columns, rows)
        await conn.execute(update(audit_head).values(seq=seq, hash=previous))
    async with engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE")
    return hashed


def _parts(record: Any) -> tuple[Any, ...]:
    return (record.seq, record.subject, record.action, record.actor, record.at, record.reason,
            record.evidence, record.previous_hash)  # fmt: skip


async def plain_cursor(engine: AsyncEngine) -> float:
    """Seconds to read every record through the cursor verify uses, without hashing."""
    async with engine.connect() as conn:
        with Timer() as timer:
            async for _ in record_batches(conn, AUDIT_RECORDS):
                pass
    return timer.seconds


async def plain_select(engine: AsyncEngine) -> float:
    """Seconds to stream every record through SQLAlchemy, checking nothing."""
    async with engine.connect() as conn:
        with Timer() as timer:
            result = await conn.stream(
                select(*VERIFY_COLUMNS)
                .order_by(audit_records.c.seq)
                .execution_options(yield_per=20_000)
            )
            async for _ in result.partitions(20_000):
                pass
    return timer.seconds


async def run(bench: Bench) -> Report:
    import hashlib

    report = Report("governance")
    url = await bench.databases.create(
        "bench_governance", service_dir=service("governance").directory
    )
    engine = create_engine(url)
    try:
        await load_history(engine)
        scored, naive, rate = await time_scoring(engine)
        figures, baseline = summary_ms(scored), summary_ms(naive)
        report.figures.update({f"risk_scoring_{k}": v for k, v in figures.items()})
        report.baselines.update({f"naive_history_count_{k}": v for k, v in baseline.items()})
        report.ratios["naive_count_p50_vs_scoring_p50"] = baseline["p50_ms"] / figures["p50_ms"]
        report.notes.append(
            f"risk scoring: {OUTCOMES} outcomes of checkout/payments over 5 years "
            f"(+{OTHER_OUTCOMES} of 50 other services), failure rate {rate:.3f}; "
            f"{SCORINGS} scorings (history, blackouts, business hours, factors)"
        )
        report.target(
            "risk_scoring_p99_ms", f"< 20 with {OUTCOMES} outcomes", figures["p99_ms"] < 20
        )

        hashed = await load_audit(engine)
        with Timer() as in_memory:
            for data in hashed:
                hashlib.sha256(data).hexdigest()
        del hashed
        report.baselines["hash_same_bytes_in_memory_s"] = in_memory.seconds
        report.baselines["plain_streamed_select_s"] = await plain_select(engine)
        report.baselines["plain_cursor_read_s"] = await plain_cursor(engine)
        async with engine.connect() as conn:
            with Timer() as verified:
                check = await verify_chain(conn)
        assert check.broken_at is None, check
        assert check.checked == AUDIT_RECORDS, check
        report.figures["audit_verify_s"] = verified.seconds
        report.figures["audit_verify_records_per_s"] = AUDIT_RECORDS / verified.seconds
        report.ratios["verify_vs_plain_select"] = (
            verified.seconds / report.baselines["plain_streamed_select_s"]
        )
        report.ratios["verify_vs_plain_cursor_read"] = (
            verified.seconds / report.baselines["plain_cursor_read_s"]
        )
        report.ratios["verify_vs_in_memory_hashing"] = verified.seconds / in_memory.seconds
        report.target("audit_verify_s", f"< 10 over {AUDIT_RECORDS} records", verified.seconds < 10)
        report.notes.append(f"median scoring {statistics.median(scored) * 1000:.2f} ms")
    finally:
        await engine.dispose()
    return report
