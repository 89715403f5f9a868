"""Writing events: the log append and the fact rows, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.events.envelope import Envelope
from flightdeck.metrics.db.bulk import one_of, upsert
from flightdeck.metrics.db.refresh import Refresh
from flightdeck.metrics.db.tables import (
    change_approvals,
    commit_leads,
    deployment_commits,
    deployment_starts,
    deployments,
    environment_tiers,
    event_log,
    health_failures,
    release_milestones,
    restorations,
    service_teams,
    verifications,
    windows_opened,
)
from flightdeck.metrics.domain.facts import (
    Claim,
    Facts,
    LoggedEvent,
    Row,
    first_deployments,
    gather,
)

PROJECTION_LOCK = 8_106_001
"""PostgreSQL advisory lock serialising projection writers (replicas, rebuild)."""


async def tune(conn: AsyncConnection) -> None:
    """On PostgreSQL, for the transaction, turn JIT compilation off (it costs tens of
    milliseconds per statement, more than these statements) and price random reads as cached
    ones: the projections' working set is in memory, and at the default price the planner
    chose whole-table scans over index probes from the scratch tables."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL jit = off"))
        await conn.execute(text("SET LOCAL random_page_cost = 1.1"))


async def lock_projections(conn: AsyncConnection) -> None:
    """Take the projection writers' lock until the transaction ends (SQLite writers are
    serialised by the database already)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROJECTION_LOCK})


@dataclass(frozen=True, slots=True)
class Arrivals:
    """A batch's events staged for the log (one per ce_id, in delivery order) and the facts
    they contribute, ready before the projection lock is taken."""

    events: list[LoggedEvent]
    facts: Facts
    insert: Any
    values: list[Row] | None


async def stage(
    conn: AsyncConnection, envelopes: Sequence[Envelope[Any]], now: datetime
) -> Arrivals | None:
    """Stage the log rows of a batch and gather its facts (None: an empty batch). Nothing
    shared is written yet, so another batch may be projecting meanwhile."""
    rows: dict[str, Row] = {}
    for envelope in envelopes:
        rows.setdefault(
            envelope.id,
            {
                "event_id": envelope.id,
                "type": envelope.type,
                "subject": envelope.subject,
                "source": envelope.source,
                "time": envelope.time,
                "correlation_id": envelope.correlation_id or None,
                "data": envelope.data.model_dump(mode="json"),
                "recorded_at": now,
            },
        )
    if not rows:
        return None
    statement, values = await upsert(conn, event_log, list(rows.values()))
    statement = statement.on_conflict_do_nothing(index_elements=["event_id"])
    events = [
        LoggedEvent(row["event_id"], row["type"], row["time"], row["data"]) for row in rows.values()
    ]
    return Arrivals(events, gather(events), statement, values)


async def append(conn: AsyncConnection, arrivals: Arrivals) -> tuple[list[LoggedEvent], Facts]:
    """Append the staged events not logged before (by ce_id); returns them and their facts."""
    appended = arrivals.insert.returning(event_log.c.event_id)
    fresh = set((await conn.execute(appended, arrivals.values)).scalars())
    if len(fresh) == len(arrivals.events):
        return arrivals.events, arrivals.facts
    logged = [event for event in arrivals.events if event.event_id in fresh]
    return logged, gather(logged)


async def append_count(conn: AsyncConnection, arrivals: Arrivals) -> int:
    """`append`, returning only how many events were new (their facts are not told apart:
    for a writer whose merge of an already logged event's facts changes nothing)."""
    return int((await conn.execute(arrivals.insert, arrivals.values)).rowcount)


async def store(conn: AsyncConnection, facts: Facts, refresh: Refresh) -> None:
    """Write the fact rows of a batch and note what they touch."""
    changed = await _claim(conn, service_teams, "service", "team", facts.team_claims)
    await _claim(conn, environment_tiers, "environment", "environment_tier", facts.tier_claims)
    await _store_deployments(conn, facts, refresh)
    await _follow_team_changes(conn, changed, refresh)
    await _store_failures(conn, facts, refresh)
    for table, rows, key in (
        (release_milestones, facts.milestones, "event_id"),
        (change_approvals, facts.approvals, "event_id"),
        (windows_opened, facts.windows, "event_id"),
        (deployment_starts, facts.starts, "event_id"),
        (verifications, facts.verifications, "event_id"),
    ):
        await _insert_new(conn, table, rows, key)


async def _insert_new(conn: AsyncConnection, table: Table, rows: list[Row], key: str) -> None:
    if rows:
        statement, values = await upsert(conn, table, rows)
        await conn.execute(statement.on_conflict_do_nothing(index_elements=[key]), values)


async def _claim(
    conn: AsyncConnection, table: Table, key: str, value: str, claims: Iterable[Claim]
) -> set[str]:
    """Keep the winning claim per key; returns the keys whose value changed."""
    offered = Facts().winning_claims(claims)
    if not offered:
        return set()
    held = {
        row[0]: Claim(row[0], row[1], row[2], row[3])
        for row in await conn.execute(
            select(table.c[key], table.c[value], table.c.event_us, table.c.event_id).where(
                one_of(conn, table.c[key], offered)
            )
        )
    }
    winning = [c for k, c in offered.items() if k not in held or c.beats(held[k])]
    if winning:
        statement, values = await upsert(
            conn,
            table,
            [
                {key: c.key, value: c.value, "event_us": c.event_us, "event_id": c.event_id}
                for c in winning
            ],
        )
        statement = statement.on_conflict_do_update(
            index_elements=[key],
            set_={
                value: statement.excluded[value],
                "event_us": statement.excluded.event_us,
                "event_id": statement.excluded.event_id,
            },
        )
        await conn.execute(statement, values)
    return {c.key for c in winning if c.key not in held or held[c.key].value != c.value}


async def _store_deployments(conn: AsyncConnection, facts: Facts, refresh: Refresh) -> None:
    """Insert deployments, or replace them when a later event describes them again."""
    offered = {row["deployment_id"]: row for row in facts.latest_deployments()}
    if not offered:
        return
    held = {
        row.deployment_id: row
        for row in await conn.execute(
            select(
                deployments.c.deployment_id,
                deployments.c.service,
                deployments.c.environment,
                deployments.c.finished_us,
                deployments.c.finished_day,
                deployments.c.event_us,
                deployments.c.event_id,
            ).where(one_of(conn, deployments.c.deployment_id, offered))
        )
    }
    winners = [
        row
        for ident, row in offered.items()
        if ident not in held
        or (row["event_us"], row["event_id"]) > (held[ident].event_us, held[ident].event_id)
    ]
    if not winners:
        return
    replaced = [held[row["deployment_id"]] for row in winners if row["deployment_id"] in held]
    if replaced:
        await _forget_replaced(conn, replaced, refresh)
    await _assign_teams(conn, winners, refresh)
    columns = [c.name for c in deployments.c]
    statement, values = await upsert(
        conn, deployments, [{name: row[name] for name in columns} for row in winners]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["deployment_id"],
        set_={name: statement.excluded[name] for name in columns if name != "deployment_id"},
    )
    await conn.execute(statement, values)
    commits = {
        (c["deployment_id"], c["repo"], c["sha"]): c for row in winners for c in row["commits"]
    }
    if commits:
        statement, values = await upsert(conn, deployment_commits, list(commits.values()))
        await conn.execute(statement, values)
    # A new deployment can only make itself its commits' first deployment: their lead times
    # are kept by a minimum. A replaced one may have moved or lost that place: its commits'
    # lead times are recomputed from every deployment carrying them.
    again = {row.deployment_id for row in replaced}
    for deployment_id, repo, sha in commits:
        if deployment_id in again or refresh.everything:
            refresh.commit(repo, sha)
    if not refresh.everything:
        await _lead_new_commits(conn, [r for r in winners if r["deployment_id"] not in again])
    for row in winners:
        refresh.day(row["service"], row["finished_day"])
        refresh.scope(row["service"], row["environment"], row["finished_us"])
    # A written row's failure mark starts empty: recompute it where failures already point at
    # the deployment (a replaced one, or a new one named by earlier health checks or
    # rollbacks). Failures the batch attributes anew are noted by the refresh itself.
    for old in replaced:
        refresh.deployment(old.deployment_id)
    new = [row["deployment_id"] for row in winners if row["deployment_id"] not in held]
    if new and not refresh.everything:
        named = select(health_failures.c.deployment_id).where(
            one_of(conn, health_failures.c.deployment_id, new)
        )
        for (deployment_id,) in await conn.execute(named.distinct()):
            refresh.deployment(deployment_id)


async def _lead_new_commits(conn: AsyncConnection, fresh: list[Row]) -> None:
    """Make new deployments the first deployment of their commits in their tier where they
    come before the held one (finish time, then deployment id)."""
    firsts = first_deployments(fresh)
    if not firsts:
        return
    statement, values = await upsert(conn, commit_leads, firsts)
    keys = ("repo", "sha", "environment_tier")
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: statement.excluded[c.name] for c in commit_leads.c if c.name not in keys},
        where=tuple_(statement.excluded.deployed_us, statement.excluded.deployment_id)
        < tuple_(commit_leads.c.deployed_us, commit_leads.c.deployment_id),
    )
    await conn.execute(statement, values)


async def _assign_teams(conn: AsyncConnection, rows: list[Row], refresh: Refresh) -> None:
    """A deployment's team is its declared team, else its service's team ('' when unknown).
    The rebuild assigns undeclared teams once, after its last batch."""
    if refresh.everything:
        return
    undeclared = {row["service"] for row in rows if row["declared_team"] is None}
    if not undeclared:
        return
    mapped = await conn.execute(
        select(service_teams.c.service, service_teams.c.team).where(
            one_of(conn, service_teams.c.service, undeclared)
        )
    )
    teams: dict[str, str] = dict(mapped.all())
    for row in rows:
        if row["declared_team"] is None:
            row["team"] = teams.get(row["service"], "")


async def _forget_replaced(conn: AsyncConnection, replaced: list[Any], refresh: Refresh) -> None:
    """A replaced deployment's old day, scope and commits must be recomputed too."""
    ids = [row.deployment_id for row in replaced]
    old_commits = await conn.execute(
        select(deployment_commits.c.repo, deployment_commits.c.sha).where(
            one_of(conn, deployment_commits.c.deployment_id, ids)
        )
    )
    for repo, sha in old_commits:
        refresh.commit(repo, sha)
    await conn.execute(
        delete(deployment_commits).where(one_of(conn, deployment_commits.c.deployment_id, ids))
    )
    for row in replaced:
        refresh.day(row.service, row.finished_day)
        refresh.scope(row.service, row.environment, row.finished_us)


async def _follow_team_changes(conn: AsyncConnection, changed: set[str], refresh: Refresh) -> None:
    """Deployments without a declared team, and their commits, follow their service's team."""
    if not changed or refresh.everything:
        return
    await resolve_teams(
        conn, deployments.c.service.in_(changed) & deployments.c.declared_team.is_(None)
    )
    own = (
        select(deployments.c.team)
        .where(deployments.c.deployment_id == commit_leads.c.deployment_id)
        .scalar_subquery()
    )
    await conn.execute(
        update(commit_leads).where(commit_leads.c.service.in_(changed)).values(team=own)
    )
    refresh.team_changed(changed)


async def resolve_teams(
    conn: AsyncConnection, where: Any, owned: Table = deployments, teams: Table = service_teams
) -> None:
    """Set the team of the deployments (of table `owned`) matching `where`: declared, else
    their service's (from `teams`), else ''."""
    mapped = select(teams.c.team).where(teams.c.service == owned.c.service).scalar_subquery()
    await conn.execute(
        update(owned).where(where).values(team=func.coalesce(owned.c.declared_team, mapped, ""))
    )


async def _store_failures(conn: AsyncConnection, facts: Facts, refresh: Refresh) -> None:
    await _insert_new(conn, health_failures, facts.failures, "failure_id")
    await _insert_new(conn, restorations, facts.restorations, "event_id")
    for row in facts.failures:
        if row["named_deployment_id"]:
            refresh.deployment(row["named_deployment_id"])
        refresh.scope(row["service"], row["environment"], row["detected_us"])
    for row in facts.restorations:
        refresh.failure(row["failure_id"])
        refresh.scope(row["service"], row["environment"], row["restored_us"])
