"""Metrics service figures (issue 5), against baselines measured in the same run:

- ingest from the broker into the log and projections >= 10k events/s (baseline: plain
  aiokafka consuming the same records): live events, the 30 days after the history in time
  order; a backfill of late events scattered over the history is reported beside it;
- rebuild of every projection from 1M logged events < 60 s;
- `GET /dora` over 1M deployments (500 services, 50 teams, 2 years), one team, weekly series:
  p99 < 50 ms and >= 50x faster than the same answer computed from the raw event log with SQL
  (JSON extraction) in the same database; both must give the same numbers;
- resident memory of the service process with 1M events (after queries and a rebuild) < 600 MiB.

Sizes are parameters (`BENCH_METRICS_DEPLOYMENTS`, `BENCH_METRICS_INGEST_EVENTS`) for
smaller runs; the figures the issue names are at the defaults.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from aiokafka import TopicPartition
from sqlalchemy import func, select, text

from bench.bench_idle_memory import _rss_mib
from bench.harness import Bench, Report, Timer, summary_ms
from flightdeck.events.catalogue import EVENT_TYPES
from flightdeck.events.codec import encode, format_time
from flightdeck.events.consumer import ConsumerRunner
from flightdeck.events.embedded import free_port
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import ensure_topics, new_consumer, new_producer, partitions_of
from flightdeck.events.topics import PUBLISHERS, events_topic
from flightdeck.kit.app import heap_frozen
from flightdeck.kit.db import create_engine
from flightdeck.kit.testing import Tokens, running
from flightdeck.metrics import SERVICE_DIR
from flightdeck.metrics.app import SPEC, create_app
from flightdeck.metrics.db.tables import event_log
from flightdeck.metrics.service.ingest import ingest
from flightdeck.metrics.service.rebuild import rebuild, settle
from flightdeck.metrics.settings import MetricsSettings

DEPLOYMENTS = int(os.environ.get("BENCH_METRICS_DEPLOYMENTS", 1_000_000))
INGEST_EVENTS = int(os.environ.get("BENCH_METRICS_INGEST_EVENTS", 100_000))
BACKFILL_EVENTS = INGEST_EVENTS // 5
SERVICES, TEAMS, DAYS = 500, 50, 730
QUERIES = 200
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
END = START + timedelta(days=DAYS)
FINISHED, FAILED, RESTORED = (
    "flightdeck.deployment.finished.v1",
    "flightdeck.healthcheck.failed.v1",
    "flightdeck.service.restored.v1",
)


# --- data --------------------------------------------------------------------------------


def history(
    deployments: int,
    seed: int = 8106,
    prefix: str = "d",
    start: datetime = START,
    days: int = DAYS,
) -> Iterator[tuple[str, str, datetime, dict[str, Any]]]:
    """(ce_id, type, time, data) of `deployments` production-heavy deployments over `days`
    from `start`, with rollbacks, hotfixes, repeated commits, health-check failures and
    restorations."""
    rng = random.Random(seed)
    services: list[int] = []
    for n in range(deployments):
        service = rng.randrange(SERVICES)
        services.append(service)
        finished = start + timedelta(seconds=rng.uniform(0, days * 86400 - 7200))
        production = rng.random() < 0.95
        succeeded = rng.random() < 0.97
        commits = [_commit(service, f"{prefix}{n:09x}", finished, rng)]
        if n > 0 and rng.random() < 0.1:
            earlier = rng.randrange(n)
            commits.append(_commit(services[earlier], f"{prefix}{earlier:09x}", finished, rng))
        ident = f"{prefix}{n:07d}"
        yield (
            str(uuid.uuid4()),
            FINISHED,
            finished,
            _deployment(ident, service, finished, production, succeeded, commits, rng),
        )
        if production and succeeded and rng.random() < 0.04:
            detected = finished + timedelta(seconds=rng.uniform(60, 30 * 3600))
            failure_id = str(uuid.uuid4())
            yield (
                failure_id,
                FAILED,
                detected,
                _failure(ident if rng.random() < 0.5 else None, service, detected),
            )
            if rng.random() < 0.6:
                restored = detected + timedelta(minutes=rng.uniform(10, 120))
                yield (
                    str(uuid.uuid4()),
                    RESTORED,
                    restored,
                    _restoration(failure_id, service, restored),
                )


def _commit(service: int, sha: str, before: datetime, rng: random.Random) -> dict[str, Any]:
    authored = before - timedelta(seconds=rng.uniform(1800, 96 * 3600))
    return {
        "repo": f"repo-{service}",
        "sha": sha,
        "authored_at": format_time(authored),
        "merged_at": None,
    }


def _deployment(
    ident: str,
    service: int,
    finished: datetime,
    production: bool,
    succeeded: bool,
    commits: list[dict[str, Any]],
    rng: random.Random,
) -> dict[str, Any]:
    rollback = rng.random() < 0.02
    return {
        "deployment_id": ident,
        "release_id": None,
        "change_id": None,
        "service": f"svc-{service:03d}",
        "team": f"team-{service // (SERVICES // TEAMS):02d}",
        "version": "1.0.0",
        "environment": "prod" if production else "stage",
        "environment_tier": "production" if production else "staging",
        "strategy": "rolling",
        "outcome": "succeeded" if succeeded else "failed",
        "is_rollback": rollback,
        "is_unplanned": rng.random() < 0.03,
        "commits": [] if rollback else commits,
        "started_at": format_time(finished - timedelta(minutes=10)),
        "finished_at": format_time(finished),
        "source": "flightdeck",
        "rollback_of": None,
        "url": None,
    }


def _failure(deployment_id: str | None, service: int, detected: datetime) -> dict[str, Any]:
    return {
        "deployment_id": deployment_id,
        "release_id": None,
        "verification_id": None,
        "service": f"svc-{service:03d}",
        "environment": "prod",
        "check": "error_rate",
        "observed": 0.2,
        "threshold": 0.05,
        "detected_at": format_time(detected),
        "severity": "critical",
        "rollback_requested": False,
    }


def _restoration(failure_id: str, service: int, restored: datetime) -> dict[str, Any]:
    return {
        "service": f"svc-{service:03d}",
        "environment": "prod",
        "failure_event_id": failure_id,
        "deployment_id": None,
        "restored_at": format_time(restored),
        "how": "resolved",
    }


async def load_log(url: str, deployments: int) -> int:
    """Write the history straight into the event log with COPY; returns the event count."""
    engine = create_engine(url)
    columns = [
        "event_id",
        "type",
        "subject",
        "source",
        "time",
        "correlation_id",
        "data",
        "recorded_at",
    ]
    written, chunk = 0, []
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for event_id, kind, moment, data in history(deployments):
            subject = data.get("deployment_id") or f"{data['service']}@{data['environment']}"
            source = "/flightdeck/executor" if kind == FINISHED else "/flightdeck/validation"
            chunk.append(
                (
                    event_id,
                    kind,
                    subject,
                    source,
                    moment,
                    subject,
                    orjson.dumps(data).decode(),
                    moment,
                )
            )
            if len(chunk) == 50_000:
                await raw.copy_records_to_table("event_log", records=chunk, columns=columns)
                written, chunk = written + len(chunk), []
        if chunk:
            await raw.copy_records_to_table("event_log", records=chunk, columns=columns)
            written += len(chunk)
        await conn.commit()
        await conn.execute(text("ANALYZE event_log"))
    await engine.dispose()
    return written


# --- rebuild and queries -------------------------------------------------------------------


async def timed_rebuild(url: str) -> tuple[float, int]:
    """Seconds to rebuild every projection from the log, and the events read."""
    engine = create_engine(url)
    try:
        with Timer() as timer:
            async with engine.begin() as conn:
                rebuilt = await rebuild(conn)
        await settle(engine)  # as the rebuild endpoint does after committing
        return timer.seconds, rebuilt.events
    finally:
        await engine.dispose()


def _params(team: str) -> dict[str, str]:
    return {"team": team, "bucket": "week", "from": format_time(START), "to": format_time(END)}


async def query_latencies(
    url: str, tokens: Tokens
) -> tuple[list[float], dict[str, dict[str, Any]]]:
    """`GET /dora` for one team at a time, weekly buckets over the two years, in process."""
    settings = MetricsSettings(
        database_url=url,
        consumer_enabled=False,
        relay_enabled=False,
        tokens_file=tokens.path,
        log_level="WARNING",
    )
    headers = tokens.headers("analyst", "viewer")
    latencies: list[float] = []
    answers: dict[str, dict[str, Any]] = {}
    async with running(create_app(settings)) as client:
        for n in range(QUERIES + 10):
            team = f"team-{n % TEAMS:02d}"
            started = time.perf_counter()
            response = await client.get("/dora", params=_params(team), headers=headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text
            answers[team] = response.json()
            if n >= 10:  # warm-up excluded
                latencies.append(elapsed)
    return latencies, answers


BASELINE_SQL = """
WITH svc AS (
  SELECT DISTINCT data->>'service' AS s FROM event_log
  WHERE type = :finished AND data->>'team' = :team
), dep AS (
  SELECT DISTINCT ON (data->>'deployment_id')
    data->>'deployment_id' AS id, data->>'service' AS service, data->>'team' AS team,
    data->>'environment' AS env, data->>'environment_tier' = 'production' AS prod,
    (data->>'is_rollback')::boolean AS rb, (data->>'is_unplanned')::boolean AS unplanned,
    data->>'rollback_of' AS rollback_of, (data->>'finished_at')::timestamptz AS finished
  FROM event_log
  WHERE type = :finished AND data->>'service' IN (SELECT s FROM svc)
    AND data->>'outcome' = 'succeeded'
  ORDER BY data->>'deployment_id', time DESC, event_id DESC
), hc AS (
  SELECT event_id AS fid, data->>'deployment_id' AS named, data->>'service' AS service,
    data->>'environment' AS env, (data->>'detected_at')::timestamptz AS detected
  FROM event_log WHERE type = :failed AND data->>'service' IN (SELECT s FROM svc)
), attributed AS (
  SELECT COALESCE(hc.named, (
    SELECT o.id FROM dep o WHERE o.service = hc.service AND o.env = hc.env
      AND o.finished <= hc.detected AND o.finished >= hc.detected - interval '24 hours'
    ORDER BY o.finished DESC, o.id DESC LIMIT 1)) AS id FROM hc
  UNION
  SELECT COALESCE(r.rollback_of, (
    SELECT o.id FROM dep o WHERE o.service = r.service AND o.env = r.env AND NOT o.rb
      AND o.finished < r.finished ORDER BY o.finished DESC, o.id DESC LIMIT 1)) FROM dep r
  WHERE r.rb
), counted AS (
  SELECT d.*, d.id IN (SELECT id FROM attributed WHERE id IS NOT NULL) AS failed FROM dep d
  WHERE d.prod AND d.team = :team AND d.finished >= :start AND d.finished < :end
), firsts AS (
  SELECT DISTINCT ON (c->>'repo', c->>'sha')
    e.data->>'team' AS team, (e.data->>'finished_at')::timestamptz AS deployed,
    (c->>'authored_at')::timestamptz AS authored
  FROM event_log e, json_array_elements(e.data->'commits') c
  WHERE e.type = :finished AND e.data->>'outcome' = 'succeeded'
    AND e.data->>'environment_tier' = 'production' AND NOT (e.data->>'is_rollback')::boolean
  ORDER BY c->>'repo', c->>'sha', (e.data->>'finished_at')::timestamptz, e.data->>'deployment_id'
), leads AS (
  SELECT deployed, EXTRACT(EPOCH FROM deployed - authored) AS lead FROM firsts
  WHERE team = :team AND deployed >= :start AND deployed < :end AND deployed > authored
), restored AS (
  SELECT data->>'failure_event_id' AS fid, min((data->>'restored_at')::timestamptz) AS at
  FROM event_log WHERE type = :restored GROUP BY 1
), recoveries AS (
  SELECT EXTRACT(EPOCH FROM LEAST(r.at, (
    SELECT min(o.finished) FROM dep o WHERE o.service = hc.service AND o.env = hc.env
      AND o.finished > hc.detected)) - hc.detected) AS seconds
  FROM hc LEFT JOIN restored r ON r.fid = hc.fid
  WHERE hc.detected >= :start AND hc.detected < :end
    AND hc.env IN (SELECT env FROM dep WHERE prod)
), weeks AS (
  SELECT generate_series(CAST(:start AS timestamptz) AT TIME ZONE 'UTC',
    CAST(:end AS timestamptz) AT TIME ZONE 'UTC' - interval '1 day', interval '1 week') AS week
), per_week AS (
  SELECT w.week, count(DISTINCT (c.finished AT TIME ZONE 'UTC')::date) AS days, count(c.id) AS n
  FROM weeks w
  LEFT JOIN counted c ON c.finished AT TIME ZONE 'UTC' >= w.week
    AND c.finished AT TIME ZONE 'UTC' < w.week + interval '7 days'
  GROUP BY w.week
), weekly_leads AS (
  SELECT date_trunc('week', deployed AT TIME ZONE 'UTC') AS week,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY lead) AS p50
  FROM leads GROUP BY 1
)
SELECT json_build_object(
  'count', (SELECT count(*) FROM counted),
  'failed', (SELECT count(*) FROM counted WHERE failed),
  'rework', (SELECT count(*) FROM counted WHERE rb OR unplanned),
  'deploy_days_median', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM per_week),
  'lead', (SELECT json_build_array(count(*), percentile_cont(ARRAY[0.5, 0.75, 0.9])
    WITHIN GROUP (ORDER BY lead)) FROM leads),
  'recovery', (SELECT json_build_array(count(seconds), count(*) - count(seconds),
    percentile_cont(ARRAY[0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY seconds)) FROM recoveries),
  'weekly_counts', (SELECT json_agg(n ORDER BY week) FROM per_week),
  'weekly_lead_p50', (SELECT json_agg(json_build_array(week, p50) ORDER BY week) FROM weekly_leads)
)
"""


async def baseline(url: str, team: str) -> tuple[float, dict[str, Any]]:
    """The same answer for one team from the raw event log, and the seconds it took."""
    engine = create_engine(url)
    params = {
        "team": team,
        "start": START,
        "end": END,
        "finished": FINISHED,
        "failed": FAILED,
        "restored": RESTORED,
    }
    try:
        async with engine.connect() as conn:
            with Timer() as timer:
                answer = await conn.scalar(text(BASELINE_SQL), params)
        return timer.seconds, answer if isinstance(answer, dict) else orjson.loads(answer)
    finally:
        await engine.dispose()


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def same_answer(api: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """Where the API and the raw-log SQL disagree (empty when they agree)."""
    close = _close
    lead, recovery = api["lead_time"], api["recovery_time"]
    checks = {
        "count": (api["deployment_frequency"]["count"], raw["count"]),
        "failed": (api["change_failure_rate"]["numerator"], raw["failed"]),
        "rework": (api["rework_rate"]["numerator"], raw["rework"]),
        "deploy_days_median": (
            api["deployment_frequency"]["deploy_days_per_week_median"],
            raw["deploy_days_median"],
        ),
        "lead_n": (lead["n"], raw["lead"][0]),
        "recovery_n": (recovery["n"], raw["recovery"][0]),
        "recovery_open": (recovery["open"], raw["recovery"][1]),
    }
    wrong = [name for name, (a, b) in checks.items() if not close(a, b)]
    for name, (ours, theirs) in {
        "lead": (
            [lead["p50_seconds"], lead["p75_seconds"], lead["p90_seconds"]],
            raw["lead"][1] or [None] * 3,
        ),
        "recovery": (
            [recovery["p50_seconds"], recovery["p75_seconds"], recovery["p90_seconds"]],
            raw["recovery"][2] or [None] * 3,
        ),
    }.items():
        wrong += [f"{name}_percentiles"] if not all(map(close, ours, theirs)) else []
    if [b["deployment_frequency"]["count"] for b in api["series"]] != raw["weekly_counts"]:
        wrong.append("weekly_counts")
    by_week = {b["bucket_start"][:10]: b["lead_time"]["p50_seconds"] for b in api["series"]}
    if not all(close(by_week.get(week[:10]), p50) for week, p50 in raw["weekly_lead_p50"] or []):
        wrong.append("weekly_lead_p50")
    return wrong


# --- ingest through the broker -------------------------------------------------------------


def _envelopes(count: int, live: bool = True) -> list[Envelope[Any]]:
    """`count` events as their producers would publish them: live, the 30 days after the
    history in time order; else a backfill of late events scattered over the history's two
    years (every batch then touches most services' whole history)."""
    if live:
        events = history(count, seed=7, prefix="i", start=END, days=30)
    else:
        events = history(count, seed=9, prefix="b")
    envelopes = []
    for event_id, kind, moment, data in events:
        envelopes.append(
            Envelope(data=EVENT_TYPES[kind].model_validate(data), id=event_id, time=moment)
        )
        if len(envelopes) == count:
            break
    if live:
        envelopes.sort(key=lambda envelope: envelope.time)
    return envelopes


async def _produce(bench_kafka: Any, envelopes: list[Envelope[Any]]) -> None:
    producer = new_producer(bench_kafka)
    topics = {bench_kafka.topics.physical(events_topic(p)) for p in PUBLISHERS}
    await ensure_topics(bench_kafka, topics)
    await producer.start()
    try:
        futures = []
        for envelope in envelopes:
            message = encode(envelope)
            topic = bench_kafka.topics.physical(events_topic(envelope.data.producer))
            futures.append(
                await producer.send(topic, message.value, key=message.key, headers=message.headers)
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consume_rate(bench_kafka: Any, count: int) -> float:
    """Records per second plain aiokafka reads from the same topics."""
    consumer = new_consumer(bench_kafka, None, [])
    await consumer.start()
    try:
        partitions = []
        for producer in ("executor", "validation"):
            topic = bench_kafka.topics.physical(events_topic(producer))
            partitions += [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        seen = 0
        with Timer() as timer:
            while seen < count:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                seen += sum(len(records) for records in batches.values())
        return count / timer.seconds
    finally:
        await consumer.stop()


async def ingest_rate(bench: Bench, url: str, count: int, live: bool = True) -> tuple[float, float]:
    """Events per second the service's consumer logs and projects into the database at `url`
    (already holding the big history, with its statistics), from a full topic; and the raw
    consume rate of the same records."""
    service = MetricsSettings()
    kafka = bench.kafka(
        max_poll_records=service.kafka_max_poll_records,
        max_partition_fetch_bytes=service.kafka_max_partition_fetch_bytes,
    )
    await _produce(kafka, _envelopes(count, live))
    # The published envelopes are not kept: the service's process would not hold them, and
    # as objects the cyclic collector tracks (about 7 per event) they lengthened each of its
    # collections of the oldest generation during ingest.
    gc.collect()
    raw_rate = await raw_consume_rate(kafka, count)
    engine = create_engine(url)
    async with engine.connect() as conn:
        before = await conn.scalar(select(func.max(event_log.c.seq))) or 0
    # Progress is what the handler's transactions committed, counted in process: polling the
    # log (a count over its newest rows every 0.1 s) took a fifth of a core from PostgreSQL
    # and contended with the appends on the same index pages.
    logged = 0
    finished = asyncio.Event()

    async def handle_batch(batch: Any) -> None:
        nonlocal logged
        new = await ingest(engine, batch, datetime.now(UTC))
        logged += new  # after the await: two batches may be in flight
        if logged >= count:
            finished.set()

    async def handle_one(envelope: Envelope[Any]) -> None:
        await handle_batch([envelope])

    topics = [events_topic(p) for p in PUBLISHERS]
    runner = ConsumerRunner(
        kafka,
        group="metrics",
        topics=topics,
        handle=handle_one,
        batch_handle=handle_batch,
        batches_in_flight=SPEC.batches_in_flight,
        keep_unknown=SPEC.keep_unknown_types,
    )
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.assigned.wait(), 60)
        started = time.perf_counter()
        await asyncio.wait_for(finished.wait(), 3600)
        rate = count / (time.perf_counter() - started)
        async with engine.connect() as conn:
            arrived = select(func.count()).select_from(event_log).where(event_log.c.seq > before)
            assert await conn.scalar(arrived) == count, "the log does not hold every event"
        return rate, raw_rate
    finally:
        runner.stop()
        await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()


# --- memory of the service process ---------------------------------------------------------


async def service_rss(bench: Bench, url: str, tokens: Tokens) -> float:
    """Peak resident memory (MiB) of `flightdeck serve metrics` on the 1M-event database,
    after a round of `/dora` queries and a rebuild."""
    port = free_port()
    env = {
        **os.environ,
        "FLIGHTDECK_KAFKA_BOOTSTRAP_SERVERS": bench.broker.bootstrap_servers,
        "FLIGHTDECK_KAFKA_TOPIC_PREFIX": f"rss{uuid.uuid4().hex[:6]}.",
        "FLIGHTDECK_METRICS_DATABASE_URL": url,
        "FLIGHTDECK_METRICS_PORT": str(port),
        "FLIGHTDECK_TOKENS_FILE": str(tokens.path),
        "FLIGHTDECK_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "flightdeck.cli.main", "serve", "metrics"]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=300) as client:
            await _ready(client)
            viewer = tokens.headers("analyst", "viewer")
            for n in range(TEAMS):
                await client.get("/dora", params=_params(f"team-{n:02d}"), headers=viewer)
            response = await client.post(
                "/projections/rebuild", headers=tokens.headers("root", "admin")
            )
            assert response.status_code == 200, response.text
        return _peak_rss_mib(process.pid)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def _ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (await client.get("/healthz", timeout=2)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the metrics service never answered")


def _peak_rss_mib(pid: int) -> float:
    from pathlib import Path

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return _rss_mib(pid)


# --- the run -----------------------------------------------------------------------------


async def run(bench: Bench) -> Report:
    report = Report("metrics")
    if bench.backend != "postgresql":
        report.notes.append("the metrics benchmark needs PostgreSQL (COPY, JSON SQL baseline)")
        return report
    url = await bench.databases.create("bench_metrics", service_dir=SERVICE_DIR)
    with Timer() as loading:
        events = await load_log(url, DEPLOYMENTS)
    report.notes.append(
        f"{events} events ({DEPLOYMENTS} deployments) loaded in {loading.seconds:.1f} s"
    )
    first, read = await timed_rebuild(url)  # from empty projections
    seconds, read = await timed_rebuild(url)  # replacing them, as an operator's rebuild does
    report.figures["rebuild_from_empty_seconds"] = first
    report.figures["rebuild_seconds"] = seconds
    report.figures["rebuild_events_per_s"] = read / seconds
    report.target("rebuild_seconds", f"< 60 for {read} events", max(first, seconds) < 60)

    tokens = Tokens(bench.databases.workdir / "metrics-tokens.json")
    latencies, answers = await query_latencies(url, tokens)
    figures = summary_ms(latencies)
    report.figures.update({f"dora_team_week_{k}": v for k, v in figures.items()})
    report.target("dora_team_week_p99_ms", "< 50 over 1M deployments", figures["p99_ms"] < 50)
    raw_seconds = []
    for team in ("team-00", "team-17", "team-42"):
        took, raw = await baseline(url, team)
        raw_seconds.append(took)
        wrong = same_answer(answers[team], raw)
        assert not wrong, f"the API and the raw-log SQL disagree for {team}: {wrong}"
    report.baselines["dora_from_raw_log_mean_ms"] = sum(raw_seconds) / len(raw_seconds) * 1000
    speedup = report.baselines["dora_from_raw_log_mean_ms"] / figures["mean_ms"]
    report.ratios["dora_speedup_vs_raw_log"] = speedup
    report.target("dora_speedup_vs_raw_log", ">= 50x, same numbers (asserted)", speedup >= 50)

    with heap_frozen():  # as the service runs
        rate, raw_rate = await ingest_rate(bench, url, INGEST_EVENTS)
    report.figures["ingest_events_per_s"] = rate
    report.baselines["raw_consume_events_per_s"] = raw_rate
    report.ratios["ingest_vs_raw_consume"] = rate / raw_rate
    report.target("ingest_events_per_s", ">= 10000 from the broker", rate >= 10_000)
    with heap_frozen():
        backfill, _ = await ingest_rate(bench, url, BACKFILL_EVENTS, live=False)
    report.figures["ingest_backfill_events_per_s"] = backfill

    rss = await service_rss(bench, url, tokens)
    report.figures["service_peak_rss_mib"] = rss
    report.target("service_peak_rss_mib", "< 600 with 1M events (queries + rebuild)", rss < 600)
    return report
