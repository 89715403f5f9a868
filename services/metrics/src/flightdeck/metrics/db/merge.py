"""Set-based merge of a batch's facts into the projections (PostgreSQL ingest).

The facts are gathered in Python (`domain.facts.gather`) and copied into staging tables
before the projection lock is taken, while another batch may still be projecting. Under the
lock, one script sent in a single round trip merges them: the same decisions as
`projector.store` (the latest claim wins, a later event replaces a deployment, a new
deployment can only become the first deployment of its commits), made in SQL over the
staged rows instead of row by row in Python, and the refresh notes written into its scratch
tables. The refresh then recomputes what the notes touch, as it does for every writer.

`projector.store` stays the path of SQLite; the integration tests run every scenario on both
databases, so the two are held to the same answers.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable

from flightdeck.metrics.db.bulk import ORDINAL, copy_rows, staging_table
from flightdeck.metrics.db.refresh import Refresh, scratch
from flightdeck.metrics.db.tables import (
    change_approvals,
    commit_leads,
    deployment_commits,
    deployment_starts,
    deployments,
    environment_tiers,
    health_failures,
    release_milestones,
    restorations,
    service_teams,
    verifications,
    windows_opened,
)
from flightdeck.metrics.domain.facts import Claim, Facts, Row
from flightdeck.metrics.domain.instants import DAY_US

_INSERTED_ONLY = (
    (release_milestones, "milestones"),
    (change_approvals, "approvals"),
    (windows_opened, "windows"),
    (deployment_starts, "starts"),
    (verifications, "verifications"),
)
"""Fact tables whose rows never change once written (keyed by the event's ce_id)."""

_STAGED = (
    deployments,
    deployment_commits,
    service_teams,
    environment_tiers,
    health_failures,
    restorations,
    *(table for table, _ in _INSERTED_ONLY),
)

_SCRATCH = """
CREATE TEMPORARY TABLE IF NOT EXISTS merge_winners (
  deployment_id text, replaced boolean, old_service text, old_environment text,
  old_finished_us bigint, old_finished_day integer) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS merge_changed_teams (service text) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS merge_times (
  service text, environment text, at_us bigint) ON COMMIT DELETE ROWS;
"""
"""The merge's own scratch: the deployments the batch writes (with what a replaced one was),
the services whose team changed, and the touched times per service and environment."""


def _columns(table: Table) -> str:
    return ", ".join(column.name for column in table.c)


def _stage(table: Table) -> str:
    return staging_table(table).name


def _later(new: str, old: str) -> str:
    """Whether row `new` comes from a later event than row `old` (time, then ce_id compared
    bytewise, as Python compares strings)."""
    return (
        f"({new}.event_us > {old}.event_us OR ({new}.event_us = {old}.event_us"
        f' AND {new}.event_id COLLATE "C" > {old}.event_id COLLATE "C"))'
    )


def _claims(table: Table, key: str, value: str, changed: str | None) -> str:
    """Keep the later claim per key; with `changed`, note the keys whose value changed."""
    stage = _stage(table)
    noted = ""
    if changed is not None:
        noted = f"""
INSERT INTO {changed} ({key})
SELECT s.{key} FROM {stage} s LEFT JOIN {table.name} t ON t.{key} = s.{key}
WHERE t.{key} IS NULL OR ({_later("s", "t")} AND s.{value} IS DISTINCT FROM t.{value});"""
    return f"""{noted}
INSERT INTO {table.name} ({key}, {value}, event_us, event_id)
SELECT {key}, {value}, event_us, event_id FROM {stage}
ON CONFLICT ({key}) DO UPDATE SET {value} = excluded.{value}, event_us = excluded.event_us,
  event_id = excluded.event_id
WHERE {_later("excluded", table.name)};"""


def _deployments() -> str:
    d, s, c = deployments.name, _stage(deployments), _stage(deployment_commits)
    kept = _columns(deployments)
    updated = ", ".join(
        f"{column.name} = excluded.{column.name}"
        for column in deployments.c
        if column.name != "deployment_id"
    )
    lead_columns = _columns(commit_leads)
    lead_keys = ("repo", "sha", "environment_tier")
    lead_updates = ", ".join(
        f"{column.name} = excluded.{column.name}"
        for column in commit_leads.c
        if column.name not in lead_keys
    )
    return f"""
INSERT INTO merge_winners
SELECT s.deployment_id, d.deployment_id IS NOT NULL, d.service, d.environment, d.finished_us,
  d.finished_day
FROM {s} s LEFT JOIN {d} d ON d.deployment_id = s.deployment_id
WHERE d.deployment_id IS NULL OR {_later("s", "d")};
-- A replaced deployment's old day, scope and commits are recomputed.
INSERT INTO refresh_commits (repo, sha)
SELECT c.repo, c.sha FROM {deployment_commits.name} c
JOIN merge_winners w ON w.deployment_id = c.deployment_id AND w.replaced;
DELETE FROM {deployment_commits.name} c USING merge_winners w
WHERE w.replaced AND c.deployment_id = w.deployment_id;
INSERT INTO refresh_days (service, day)
SELECT old_service, old_finished_day FROM merge_winners WHERE replaced;
INSERT INTO merge_times SELECT old_service, old_environment, old_finished_us
FROM merge_winners WHERE replaced;
-- A deployment's team is its declared team, else its service's team ('' when unknown).
UPDATE {s} s SET team = COALESCE(
  (SELECT t.team FROM {service_teams.name} t WHERE t.service = s.service), '')
WHERE s.declared_team IS NULL;
INSERT INTO {d} ({kept})
SELECT {", ".join(f"s.{column.name}" for column in deployments.c)}
FROM {s} s JOIN merge_winners w ON w.deployment_id = s.deployment_id
ON CONFLICT (deployment_id) DO UPDATE SET {updated};
INSERT INTO {deployment_commits.name} ({_columns(deployment_commits)})
SELECT {", ".join(f"c.{column.name}" for column in deployment_commits.c)}
FROM {c} c JOIN merge_winners w ON w.deployment_id = c.deployment_id
ORDER BY c.{ORDINAL};
-- A replaced deployment's commits are recomputed from every deployment carrying them; a new
-- one can only make itself its commits' first deployment (their lead times, a minimum).
INSERT INTO refresh_commits (repo, sha)
SELECT c.repo, c.sha FROM {c} c
JOIN merge_winners w ON w.deployment_id = c.deployment_id AND w.replaced;
INSERT INTO {commit_leads.name} ({lead_columns})
SELECT DISTINCT ON (c.repo, c.sha, s.environment_tier) c.repo, c.sha, s.environment_tier,
  s.deployment_id, s.service, s.team, s.finished_us, s.finished_us - c.authored_us,
  s.finished_us - c.merged_us
FROM {s} s JOIN merge_winners w ON w.deployment_id = s.deployment_id AND NOT w.replaced
JOIN {c} c ON c.deployment_id = s.deployment_id
WHERE s.succeeded AND NOT s.is_rollback
ORDER BY c.repo, c.sha, s.environment_tier, s.finished_us, s.deployment_id COLLATE "C"
ON CONFLICT (repo, sha, environment_tier) DO UPDATE SET {lead_updates}
WHERE (excluded.deployed_us, excluded.deployment_id)
  < ({commit_leads.name}.deployed_us, {commit_leads.name}.deployment_id);
INSERT INTO refresh_days (service, day)
SELECT DISTINCT s.service, s.finished_day
FROM {s} s JOIN merge_winners w ON w.deployment_id = s.deployment_id;
INSERT INTO merge_times SELECT s.service, s.environment, s.finished_us
FROM {s} s JOIN merge_winners w ON w.deployment_id = s.deployment_id;
-- A written row's failure mark starts empty: recompute it where failures already point at
-- the deployment (a replaced one, or a new one named by earlier health checks or rollbacks).
INSERT INTO refresh_deployments (deployment_id)
SELECT deployment_id FROM merge_winners WHERE replaced
UNION
SELECT f.deployment_id FROM {health_failures.name} f
JOIN merge_winners w ON w.deployment_id = f.deployment_id AND NOT w.replaced;"""


def _team_changes() -> str:
    """Deployments without a declared team, and their commits, follow their service's team;
    every day of those services is recomputed."""
    d, t = deployments.name, service_teams.name
    # Analysed first: guessing its size, PostgreSQL read every deployment to find none.
    return f"""
ANALYZE merge_changed_teams;
UPDATE {d} SET team = COALESCE((SELECT t.team FROM {t} t WHERE t.service = {d}.service), '')
WHERE declared_team IS NULL AND service IN (SELECT service FROM merge_changed_teams);
UPDATE {commit_leads.name} l SET team = (
  SELECT d.team FROM {d} d WHERE d.deployment_id = l.deployment_id)
WHERE l.service IN (SELECT service FROM merge_changed_teams);
INSERT INTO refresh_days (service, day)
SELECT DISTINCT service, finished_day FROM {d}
WHERE service IN (SELECT service FROM merge_changed_teams);"""


def _failures() -> str:
    f, r = _stage(health_failures), _stage(restorations)
    return f"""
INSERT INTO {health_failures.name} ({_columns(health_failures)})
SELECT {_columns(health_failures)} FROM {f} ORDER BY {ORDINAL}
ON CONFLICT (failure_id) DO NOTHING;
INSERT INTO {restorations.name} ({_columns(restorations)})
SELECT {_columns(restorations)} FROM {r} ORDER BY {ORDINAL}
ON CONFLICT (event_id) DO NOTHING;
INSERT INTO refresh_deployments (deployment_id)
SELECT DISTINCT named_deployment_id FROM {f} WHERE named_deployment_id IS NOT NULL;
INSERT INTO merge_times SELECT service, environment, detected_us FROM {f};
INSERT INTO refresh_failures (failure_id) SELECT DISTINCT failure_id FROM {r};
INSERT INTO merge_times SELECT service, environment, restored_us FROM {r};"""


def _inserted_only() -> str:
    return "".join(
        f"""
INSERT INTO {table.name} ({_columns(table)})
SELECT {_columns(table)} FROM {_stage(table)} ORDER BY {ORDINAL}
ON CONFLICT (event_id) DO NOTHING;"""
        for table, _ in _INSERTED_ONLY
    )


_SPANS = f"""
-- Touched times less than a day apart share one span (as `refresh._spans`).
INSERT INTO refresh_scopes (service, environment, since_us, latest_us)
SELECT service, environment, min(at_us), max(at_us) FROM (
  SELECT service, environment, at_us,
    count(*) FILTER (WHERE previous IS NULL OR at_us - previous >= {DAY_US})
      OVER (PARTITION BY service, environment ORDER BY at_us) AS span
  FROM (
    SELECT service, environment, at_us,
      lag(at_us) OVER (PARTITION BY service, environment ORDER BY at_us) AS previous
    FROM merge_times
  ) ordered
) numbered
GROUP BY service, environment, span;"""

MERGE = "".join(
    (
        _claims(service_teams, "service", "team", "merge_changed_teams"),
        _claims(environment_tiers, "environment", "environment_tier", None),
        _deployments(),
        _team_changes(),
        _failures(),
        _inserted_only(),
        _SPANS,
    )
)
"""The merge, in the order `projector.store` writes: claims, deployments (their teams after
the claims), team changes, failures, the other facts; then the touched spans."""


async def prepare(conn: AsyncConnection) -> None:
    """Create (if needed) the staging and scratch tables of this transaction and empty the
    refresh's scratch tables (the others empty themselves at commit), in one round trip."""
    ddl = [
        str(CreateTable(staging_table(table), if_not_exists=True).compile(dialect=conn.dialect))
        for table in _STAGED
    ]
    ddl += [
        str(CreateTable(table, if_not_exists=True).compile(dialect=conn.dialect))
        for table in scratch.tables.values()
    ]
    ddl += [f"DELETE FROM {table.name}" for table in scratch.tables.values()]
    await _script(conn, ";\n".join(ddl) + ";\n" + _SCRATCH)


async def stage(conn: AsyncConnection, facts: Facts) -> None:
    """Copy a batch's facts into the staging tables (created by `prepare`): one row per
    deployment (its latest event's) with its commits, the winning claim per key, and every
    other fact row."""
    latest = facts.latest_deployments()
    commits: dict[tuple[str, str, str], Row] = {}
    for row in latest:
        for commit in row["commits"]:
            commits[(commit["deployment_id"], commit["repo"], commit["sha"])] = commit
    # A deployment row also holds its commits: only the table's columns are copied.
    await _copy(conn, deployments, latest, [column.name for column in deployments.c])
    await _copy(conn, deployment_commits, list(commits.values()))
    await _copy(conn, service_teams, _claim_rows(facts, facts.team_claims, "service", "team"))
    await _copy(
        conn,
        environment_tiers,
        _claim_rows(facts, facts.tier_claims, "environment", "environment_tier"),
    )
    await _copy(conn, health_failures, facts.failures)
    await _copy(conn, restorations, facts.restorations)
    for table, name in _INSERTED_ONLY:
        await _copy(conn, table, getattr(facts, name))


async def _copy(
    conn: AsyncConnection, table: Table, rows: list[Row], names: list[str] | None = None
) -> None:
    if rows:
        await copy_rows(conn, staging_table(table), rows, names, ordinal=ORDINAL)


def _claim_rows(facts: Facts, claims: list[Claim], key: str, value: str) -> list[Row]:
    return [
        {key: claim.key, value: claim.value, "event_us": claim.event_us, "event_id": claim.event_id}
        for claim in facts.winning_claims(claims).values()
    ]


async def run(conn: AsyncConnection) -> None:
    """Merge the staged facts into the projections, note what they touch and refresh what
    they derive, in one round trip (under the projection lock)."""
    await _script(conn, MERGE + await _refresh_script(conn.dialect))


class _Recorder:
    """Stands for a connection to a `Refresh`: keeps each statement it is given as SQL text,
    its values inlined. The refresh of a noted batch runs the same statements every time
    (what it touches is in the scratch tables), so they are recorded once per process and
    sent with the merge."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.statements: list[str] = []

    async def execute(self, statement: Any, parameters: Any = None) -> None:
        assert parameters is None, "a recorded statement carries its values inline"
        compiled = statement.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True})
        self.statements.append(f"{compiled};")


_refresh_scripts: dict[str, str] = {}


async def _refresh_script(dialect: Dialect) -> str:
    script = _refresh_scripts.get(dialect.name)
    if script is None:
        recorder = _Recorder(dialect)
        await Refresh(cast(AsyncConnection, recorder), noted=True).run()
        script = _refresh_scripts[dialect.name] = "\n" + "\n".join(recorder.statements)
    return script


async def _script(conn: AsyncConnection, sql: str) -> None:
    """Several statements without parameters in one round trip (the simple query protocol)."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.execute(sql)
