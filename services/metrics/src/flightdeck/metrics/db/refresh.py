"""The derived projections, recomputed set-based from the fact tables.

Every derived value is a deterministic function of the stored facts (the latest deployment
before a detection, the earliest deployment of a commit, the minimum of the recovery times),
so the result does not depend on the order events arrived in, and a rebuild that recomputes
everything gives what incremental refreshes gave.

Incremental refreshes are limited by scratch tables filled per batch: the spans of time the
batch touched per service and environment, the deployments whose failure attribution may have
changed, the (service, day) rollups and the commits to recompute. With `everything`, the same
statements run without those limits (rebuild).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql import ColumnElement

from flightdeck.metrics.db.bulk import copy_rows
from flightdeck.metrics.db.tables import (
    commit_leads,
    daily_deployments,
    deployment_commits,
    deployments,
    health_failures,
    restorations,
)
from flightdeck.metrics.domain.facts import RULE_RANKS
from flightdeck.metrics.domain.instants import DAY_US

scratch = MetaData()
scopes = Table(
    "refresh_scopes",
    scratch,
    Column("service", Text),
    Column("environment", Text),
    Column("since_us", BigInteger),
    Column("latest_us", BigInteger),
    Column("until_us", BigInteger),
    prefixes=["TEMPORARY"],
)
"""What a batch touched, per (service, environment): spans of touched times (`since_us` to
`latest_us`), times less than a day apart sharing one span. Recomputing everything a span may
affect recomputes a superset of what each of its times may affect, which is as right (every
derived value is a function of the facts) and costs one index probe per span instead of one
per event: a live batch has one span per service and environment.
`until_us` bounds the rollbacks whose replaced deployment may change (the next non-rollback
deployment after `latest_us`; `FOREVER` when there is none yet, so that every bound is a plain
range an index can seek)."""
FOREVER = 2**63 - 1
"""The largest BIGINT: a span bound meaning 'no end'."""
touched_deployments = Table(
    "refresh_deployments", scratch, Column("deployment_id", Text), prefixes=["TEMPORARY"]
)
touched_days = Table(
    "refresh_days",
    scratch,
    Column("service", Text),
    Column("day", Integer),
    prefixes=["TEMPORARY"],
)
touched_failures = Table(
    "refresh_failures", scratch, Column("failure_id", Text), prefixes=["TEMPORARY"]
)
"""Health checks whose recovery the batch may change: those named by its restorations, and
those the recovery step finds around its spans."""
touched_commits = Table(
    "refresh_commits",
    scratch,
    Column("repo", Text),
    Column("sha", Text),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True, slots=True)
class Derivation:
    """The tables a refresh reads and writes: the live ones, or a rebuild's staged copies."""

    deployments: Table = deployments
    commits: Table = deployment_commits
    failures: Table = health_failures
    restorations: Table = restorations
    leads: Table = commit_leads
    daily: Table = daily_deployments


class Refresh:
    """Collects what a batch touched, then recomputes the derived rows it affects."""

    def __init__(
        self,
        conn: AsyncConnection,
        *,
        everything: bool = False,
        noted: bool = False,
        tables: Derivation = Derivation(),
    ) -> None:
        self.conn = conn
        self.everything = everything
        self.noted = noted
        self.d, self.f = tables.deployments, tables.failures
        self.commits, self.restorations = tables.commits, tables.restorations
        self.leads, self.daily = tables.leads, tables.daily
        self._scopes: dict[tuple[str, str], list[int]] = {}
        self._notes: dict[str, set[tuple[Any, ...]]] = {
            touched_deployments.name: set(),
            touched_days.name: set(),
            touched_failures.name: set(),
            touched_commits.name: set(),
        }
        self._services: set[str] = set()

    def scope(self, service: str, environment: str, since_us: int) -> None:
        """Something happened at `since_us` on this service and environment: the attribution
        and recovery of the failures around that time may change."""
        self._scopes.setdefault((service, environment), []).append(since_us)

    def deployment(self, deployment_id: str) -> None:
        """This deployment's failure mark (and its day's rollup) may change."""
        self._notes[touched_deployments.name].add((deployment_id,))

    def day(self, service: str, day: int) -> None:
        """This service's rollup of that day may change."""
        self._notes[touched_days.name].add((service, day))

    def failure(self, failure_id: str) -> None:
        """A restoration names this failure: its recovery may change, whatever the times (a
        restoration may be stamped before the detection, or name another environment)."""
        self._notes[touched_failures.name].add((failure_id,))

    def commit(self, repo: str, sha: str) -> None:
        """This commit's first deployment may change."""
        self._notes[touched_commits.name].add((repo, sha))

    def team_changed(self, services: set[str]) -> None:
        """These services' team changed: every rollup day of theirs is recomputed."""
        self._services |= services

    async def run(self) -> None:
        """Recompute attribution, recovery, failure marks, commit lead times and rollups."""
        if not self.everything:
            await self._write_notes()
        await self._note_attributed()
        await self._attribute_by_window()
        await self._attribute_rollbacks()
        await self._note_attributed()
        await self._recover()
        await self._mark_failed_deployments()
        await self._refresh_commit_leads()
        await self._refresh_rollups()

    async def _write_notes(self) -> None:
        """Fill the scratch tables (created once per connection, emptied per batch) unless
        the writer `noted` its batch there already (`merge`); on PostgreSQL analyse them so
        the planner drives the joins from them."""
        if not self.noted:
            await self._write_collected_notes()
        await self._bound_rollback_scopes()
        if self._services:
            days = select(self.d.c.service, self.d.c.finished_day).where(
                self.d.c.service.in_(self._services)
            )
            await self.conn.execute(
                insert(touched_days).from_select(["service", "day"], days.distinct())
            )
        await self._analyze(*scratch.tables.values())

    async def _write_collected_notes(self) -> None:
        for table in scratch.tables.values():
            await self.conn.execute(CreateTable(table, if_not_exists=True))
            await self.conn.execute(delete(table))
        rows: dict[Table, list[dict[str, Any]]] = {
            scopes: [
                {"service": service, "environment": environment, "since_us": a, "latest_us": b}
                for (service, environment), times in self._scopes.items()
                for a, b in _spans(times)
            ],
        }
        for table in (touched_deployments, touched_days, touched_failures, touched_commits):
            names = [column.name for column in table.c]
            rows[table] = [dict(zip(names, note, strict=True)) for note in self._notes[table.name]]
        for table, values in rows.items():
            if not values:
                continue
            if self.conn.dialect.name == "postgresql":
                await copy_rows(self.conn, table, values)
            else:
                await self.conn.execute(insert(table), values)

    async def _analyze(self, *tables: Table) -> None:
        """On PostgreSQL, refresh the statistics of scratch tables just filled, so that the
        planner drives the joins from them."""
        if self.conn.dialect.name == "postgresql":
            await self.conn.execute(text(f"ANALYZE {', '.join(t.name for t in tables)}"))

    # -- limits -------------------------------------------------------------------------

    async def _bound_rollback_scopes(self) -> None:
        following = (
            select(func.min(self.d.c.finished_us))
            .where(
                self.d.c.service == scopes.c.service,
                self.d.c.environment == scopes.c.environment,
                self.d.c.succeeded.is_(True),
                self.d.c.is_rollback.is_(False),
                self.d.c.finished_us > scopes.c.latest_us,
            )
            .scalar_subquery()
        )
        bound = func.coalesce(following, literal(FOREVER, BigInteger))
        await self.conn.execute(update(scopes).values(until_us=bound))

    def _same_scope(self, table: Any) -> list[ColumnElement[bool]]:
        return [table.c.service == scopes.c.service, table.c.environment == scopes.c.environment]

    def _window_scoped(self, table: Any, time: Any) -> list[ColumnElement[bool]]:
        """Health checks a touched time may re-attribute: detected within 24 h after it."""
        if self.everything:
            return []
        day = literal(DAY_US, BigInteger)
        return [
            *self._same_scope(table),
            time >= scopes.c.since_us,
            time <= scopes.c.latest_us + day,
        ]

    def _rollback_scoped(self, table: Any, time: Any) -> list[ColumnElement[bool]]:
        """Rollbacks a touched time may re-attribute: from it to the next non-rollback
        deployment."""
        if self.everything:
            return []
        return [*self._same_scope(table), time >= scopes.c.since_us, time <= scopes.c.until_us]

    async def _note_attributed(self) -> None:
        """Note the deployments that the failures the batch may re-attribute point at."""
        if self.everything:
            return
        f = self.f.alias("candidate")  # an alias: not correlated with an enclosing statement
        attributed = f.c.deployment_id.is_not(None)
        unnamed = select(f.c.deployment_id).where(
            f.c.kind == "health_check",
            f.c.named_deployment_id.is_(None),
            attributed,
            *self._window_scoped(f, f.c.occurred_us),
        )
        rollbacks = select(f.c.deployment_id).where(
            f.c.kind == "rollback", attributed, *self._rollback_scoped(f, f.c.occurred_us)
        )
        await self.conn.execute(
            insert(touched_deployments).from_select(["deployment_id"], unnamed.union_all(rollbacks))
        )

    # -- attribution --------------------------------------------------------------------

    async def _attribute_by_window(self) -> None:
        """An unnamed health check goes to the latest succeeded deployment of its service and
        environment finished at most 24 h before detection."""
        latest = (
            select(self.d.c.deployment_id)
            .where(
                self.d.c.service == self.f.c.service,
                self.d.c.environment == self.f.c.environment,
                self.d.c.succeeded.is_(True),
                self.d.c.finished_us <= self.f.c.detected_us,
                self.d.c.finished_us >= self.f.c.detected_us - DAY_US,
            )
            .order_by(self.d.c.finished_us.desc(), self.d.c.deployment_id.desc())
            .limit(1)
            .scalar_subquery()
        )
        unnamed = [
            self.f.c.kind == "health_check",
            self.f.c.named_deployment_id.is_(None),
            *self._window_scoped(self.f, self.f.c.occurred_us),
        ]
        await self.conn.execute(update(self.f).where(*unnamed).values(deployment_id=latest))
        found = self.f.c.deployment_id.is_not(None)
        await self.conn.execute(
            update(self.f)
            .where(*unnamed)
            .values(
                rule=case((found, "window_24h"), else_=null()),
                rule_rank=case((found, RULE_RANKS["window_24h"]), else_=null()),
            )
        )

    async def _attribute_rollbacks(self) -> None:
        """Each succeeded rollback is a failure of the deployment it replaced: `rollback_of`,
        else the latest succeeded non-rollback deployment of that service and environment
        finished before it. With neither, the row is kept (it is a rollback) but, like an
        unnamed health check outside every 24 h window, has no deployment and no rule."""
        rollback = self.d.alias("rollback")
        replaced = self.d.alias("replaced")
        candidate = self.f.alias("candidate")
        previous = (
            select(replaced.c.deployment_id)
            .where(
                replaced.c.service == rollback.c.service,
                replaced.c.environment == rollback.c.environment,
                replaced.c.succeeded.is_(True),
                replaced.c.is_rollback.is_(False),
                replaced.c.finished_us < rollback.c.finished_us,
            )
            .order_by(replaced.c.finished_us.desc(), replaced.c.deployment_id.desc())
            .limit(1)
            .correlate(rollback)
            .scalar_subquery()
        )
        await self.conn.execute(
            delete(self.f).where(
                self.f.c.kind == "rollback",
                self.f.c.failure_id.in_(
                    select(candidate.c.failure_id).where(
                        candidate.c.kind == "rollback",
                        *self._rollback_scoped(candidate, candidate.c.occurred_us),
                    )
                ),
            )
        )
        rollbacks = (
            select(
                rollback.c.deployment_id,
                rollback.c.service,
                rollback.c.environment,
                func.coalesce(rollback.c.rollback_of, previous).label("replaced_id"),
                rollback.c.finished_us,
            )
            .where(
                rollback.c.is_rollback.is_(True),
                rollback.c.succeeded.is_(True),
                *self._rollback_scoped(rollback, rollback.c.finished_us),
            )
            .subquery("rollbacks")
        )
        found = rollbacks.c.replaced_id.is_not(None)
        rows = select(
            literal("rollback:", Text) + rollbacks.c.deployment_id,
            literal("rollback", Text),
            rollbacks.c.service,
            rollbacks.c.environment,
            rollbacks.c.replaced_id,
            case((found, literal("rollback", Text)), else_=null()),
            case((found, literal(RULE_RANKS["rollback"], Integer)), else_=null()),
            rollbacks.c.finished_us,
        )
        columns = [
            "failure_id",
            "kind",
            "service",
            "environment",
            "deployment_id",
            "rule",
            "rule_rank",
            "occurred_us",
        ]
        await self.conn.execute(insert(self.f).from_select(columns, rows.distinct()))

    # -- recovery -------------------------------------------------------------------------

    async def _recover(self) -> None:
        """A detected failure recovers at the earliest of the ServiceRestored naming it and
        the next succeeded deployment of its service and environment."""
        restored = (
            select(func.min(self.restorations.c.restored_us))
            .where(self.restorations.c.failure_id == self.f.c.failure_id)
            .scalar_subquery()
        )
        following = (
            select(self.d.c.finished_us)
            .where(
                self.d.c.service == self.f.c.service,
                self.d.c.environment == self.f.c.environment,
                self.d.c.succeeded.is_(True),
                self.d.c.finished_us > self.f.c.detected_us,
            )
            .order_by(self.d.c.finished_us)
            .limit(1)
            .scalar_subquery()
        )
        stale = [self.f.c.kind == "health_check"]
        if not self.everything:
            # Detected before a touched time and not recovered before it. Materialised first:
            # planned as one statement with the updates, PostgreSQL evaluated the recovery
            # subqueries for every health check before joining the scopes.
            # Still open, or recovered since: two seeks of the recovery index per scope (as
            # one condition with OR, every health check of the scope was read).
            candidate = self.f.alias("candidate")
            detected = [
                candidate.c.kind == "health_check",
                *self._same_scope(candidate),
                candidate.c.detected_us <= scopes.c.latest_us,
            ]
            still_open = select(candidate.c.failure_id).where(
                *detected, candidate.c.recovered_us.is_(None)
            )
            recovered_since = select(candidate.c.failure_id).where(
                *detected, candidate.c.recovered_us >= scopes.c.since_us
            )
            chosen = still_open.union(recovered_since)
            await self.conn.execute(insert(touched_failures).from_select(["failure_id"], chosen))
            await self._analyze(touched_failures)
            stale.append(self.f.c.failure_id.in_(select(touched_failures.c.failure_id)))
        await self.conn.execute(
            update(self.f)
            .where(*stale)
            .values(
                recovered_us=restored,
                recovered_by=case((restored.is_not(None), "service_restored"), else_=null()),
            )
        )
        await self.conn.execute(
            update(self.f)
            .where(
                *stale,
                following.is_not(None),
                or_(self.f.c.recovered_us.is_(None), following < self.f.c.recovered_us),
            )
            .values(recovered_us=following, recovered_by="deployment")
        )

    # -- what the attribution marks -------------------------------------------------------

    async def _mark_failed_deployments(self) -> None:
        """A deployment's failure rule is the first rule among the failures attributed to it."""
        if self.everything:
            await self._mark_all_failed_deployments()
            return
        first_rule = (
            select(self.f.c.rule)
            .where(self.f.c.deployment_id == self.d.c.deployment_id, self.f.c.rule.is_not(None))
            .order_by(self.f.c.rule_rank, self.f.c.failure_id)
            .limit(1)
            .scalar_subquery()
        )
        chosen = select(touched_deployments.c.deployment_id).distinct().subquery()
        touched = self.d.c.deployment_id == chosen.c.deployment_id
        days = select(self.d.c.service, self.d.c.finished_day).where(touched)
        await self.conn.execute(insert(touched_days).from_select(["service", "day"], days))
        changed = self.d.c.failure_rule.is_distinct_from(first_rule)
        await self.conn.execute(
            update(self.d).where(touched, changed).values(failure_rule=first_rule)
        )

    async def _mark_all_failed_deployments(self) -> None:
        """The same for every deployment at once (their marks start empty in a rebuild)."""
        order = func.row_number().over(
            partition_by=self.f.c.deployment_id, order_by=(self.f.c.rule_rank, self.f.c.failure_id)
        )
        ranked = (
            select(self.f.c.deployment_id, self.f.c.rule, order.label("rank"))
            .where(self.f.c.deployment_id.is_not(None), self.f.c.rule.is_not(None))
            .subquery()
        )
        firsts = select(ranked.c.deployment_id, ranked.c.rule).where(ranked.c.rank == 1).subquery()
        await self.conn.execute(
            update(self.d)
            .where(self.d.c.deployment_id == firsts.c.deployment_id)
            .values(failure_rule=firsts.c.rule)
        )

    async def _refresh_commit_leads(self) -> None:
        """Each commit once per tier, at its first succeeded non-rollback deployment there."""
        c = self.commits
        keys = select(touched_commits.c.repo, touched_commits.c.sha)
        if self.everything:
            chosen: Any = true()
            await self.conn.execute(delete(self.leads))
        else:
            chosen = tuple_(c.c.repo, c.c.sha).in_(keys)
            await self.conn.execute(
                delete(self.leads).where(tuple_(self.leads.c.repo, self.leads.c.sha).in_(keys))
            )
        order = func.row_number().over(
            partition_by=(self.d.c.environment_tier, c.c.repo, c.c.sha),
            order_by=(self.d.c.finished_us, self.d.c.deployment_id),
        )
        ranked = (
            select(
                self.d.c.environment_tier,
                c.c.repo,
                c.c.sha,
                self.d.c.deployment_id,
                self.d.c.service,
                self.d.c.team,
                self.d.c.finished_us.label("deployed_us"),
                (self.d.c.finished_us - c.c.authored_us).label("lead_authored_us"),
                (self.d.c.finished_us - c.c.merged_us).label("lead_merged_us"),
                order.label("rank"),
            )
            .select_from(c.join(self.d, self.d.c.deployment_id == c.c.deployment_id))
            .where(self.d.c.succeeded.is_(True), self.d.c.is_rollback.is_(False), chosen)
            .subquery()
        )
        columns = [col.name for col in ranked.c if col.name != "rank"]
        firsts = select(*(ranked.c[name] for name in columns)).where(ranked.c.rank == 1)
        await self.conn.execute(insert(self.leads).from_select(columns, firsts))

    async def _refresh_rollups(self) -> None:
        """Daily counts of succeeded deployments, rework and attributed failures."""
        r = self.daily
        source: Any = self.d
        if self.everything:
            await self.conn.execute(delete(r))
        else:
            keys = select(touched_days.c.service, touched_days.c.day)
            await self.conn.execute(delete(r).where(tuple_(r.c.service, r.c.day).in_(keys)))
            # The touched days' deployments, found as time ranges of the service's index.
            days = keys.distinct().subquery()
            start = days.c.day * literal(DAY_US, BigInteger)
            source = self.d.join(
                days,
                and_(
                    self.d.c.service == days.c.service,
                    self.d.c.finished_us >= start,
                    self.d.c.finished_us < start + DAY_US,
                ),
            )
        rework = or_(self.d.c.is_rollback.is_(True), self.d.c.is_unplanned.is_(True))
        counts = (
            select(
                self.d.c.finished_day,
                self.d.c.service,
                self.d.c.environment_tier,
                self.d.c.team,
                func.count(),
                func.sum(case((rework, 1), else_=0)),
                func.sum(case((self.d.c.failure_rule.is_not(None), 1), else_=0)),
            )
            .select_from(source)
            .where(self.d.c.succeeded.is_(True))
            .group_by(
                self.d.c.finished_day, self.d.c.service, self.d.c.environment_tier, self.d.c.team
            )
        )
        columns = ["day", "service", "environment_tier", "team", "deployments", "rework", "failed"]
        await self.conn.execute(insert(r).from_select(columns, counts))


def _spans(times: list[int]) -> list[tuple[int, int]]:
    """`times` as (first, last) spans, times less than a day apart sharing one."""
    spans: list[tuple[int, int]] = []
    for moment in sorted(times):
        if spans and moment - spans[-1][1] < DAY_US:
            spans[-1] = (spans[-1][0], moment)
        else:
            spans.append((moment, moment))
    return spans
