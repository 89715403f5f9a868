"""Set-based extraction of the fact tables from the event log on PostgreSQL (the rebuild's
fast path): the same facts as `domain.facts.gather`, computed with JSON SQL in a handful of
`INSERT ... SELECT` statements instead of row by row. (`OFFSET 0` keeps PostgreSQL from
inlining a subquery that converts a document to jsonb once, which would convert it again for
every field read.)

Ties follow the Python rules: the latest (event time, ce_id) event describes a deployment and
claims a team or tier; ce_ids compare bytewise (COLLATE "C"), as Python compares strings. The
latest claim per service or environment is found by grouping (its time) and joining back (ties
at that time broken by ce_id): a hash pass where sorting every claim cost seconds.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.events.catalogue.executor import (
    DeploymentFinished,
    DeploymentStarted,
    WindowOpened,
)
from flightdeck.events.catalogue.governance import ChangeApproved
from flightdeck.events.catalogue.planning import ReleasePlanned, ReleaseScoped
from flightdeck.events.catalogue.validation import (
    HealthCheckFailed,
    ServiceRestored,
    VerificationPassed,
)


def _expand(statement: str, suffix: str = "") -> str:
    """`US(x)`: microseconds since the epoch of the RFC 3339 text or time `x` (exact, as
    EXTRACT gives a numeric); `@table`: that fact table, with the staging suffix."""
    statement = re.sub(r"@(\w+)", rf"\1{suffix}", statement)
    return re.sub(
        r"US\(([^()]*)\)", r"(EXTRACT(EPOCH FROM (\1)::timestamptz) * 1000000)::bigint", statement
    )


TYPES = {
    "finished": DeploymentFinished.ce_type,
    "failed": HealthCheckFailed.ce_type,
    "restored": ServiceRestored.ce_type,
    "planned": ReleasePlanned.ce_type,
    "scoped": ReleaseScoped.ce_type,
    "approved": ChangeApproved.ce_type,
    "window": WindowOpened.ce_type,
    "started": DeploymentStarted.ce_type,
    "verified": VerificationPassed.ce_type,
}

PARSED_DEPLOYMENT_EVENTS = """
CREATE TEMPORARY TABLE rebuild_finished ON COMMIT DROP AS
SELECT e.event_id, US(e.time) AS event_us, r.deployment_id, r.service, r.environment,
  r.environment_tier, NULLIF(r.team, '') AS team, r.outcome, r.is_rollback, r.is_unplanned,
  r.rollback_of, r.release_id, r.change_id, r.version, r.source, US(r.started_at) AS started_us,
  US(r.finished_at) AS finished_us, r.commits
FROM event_log e, json_to_record(e.data) AS r(deployment_id text, service text,
  environment text, environment_tier text, team text, outcome text, is_rollback boolean,
  is_unplanned boolean, rollback_of text, release_id text, change_id text, version text,
  source text, started_at timestamptz, finished_at timestamptz, commits jsonb)
WHERE e.type = :finished
"""
"""Every DeploymentFinished parsed once (one pass of the JSON parser per document, spread over
parallel workers); the statements below read this narrow table."""

STATEMENTS = [
    """
INSERT INTO @deployments (deployment_id, service, environment, environment_tier, declared_team,
  team, outcome, succeeded, is_rollback, is_unplanned, rollback_of, release_id, change_id,
  version, source, started_us, finished_us, finished_day, event_id, event_us)
SELECT DISTINCT ON (deployment_id) deployment_id, service, environment, environment_tier, team,
  COALESCE(team, ''), outcome, outcome = 'succeeded', is_rollback, is_unplanned, rollback_of,
  release_id, change_id, version, source, started_us, finished_us,
  FLOOR(finished_us::numeric / 86400000000)::integer, event_id, event_us
FROM rebuild_finished
ORDER BY deployment_id, event_us DESC, event_id COLLATE "C" DESC
""",
    """
INSERT INTO @deployment_commits (deployment_id, repo, sha, authored_us, merged_us)
SELECT DISTINCT ON (f.deployment_id, c.value->>'repo', c.value->>'sha')
  f.deployment_id, c.value->>'repo', c.value->>'sha',
  US(c.value->>'authored_at'), US(c.value->>'merged_at')
FROM rebuild_finished f JOIN @deployments d ON d.event_id = f.event_id,
  jsonb_array_elements(f.commits) WITH ORDINALITY AS c(value, position)
ORDER BY f.deployment_id, c.value->>'repo', c.value->>'sha', c.position DESC
""",
    """
WITH claims AS MATERIALIZED (
  SELECT service, team, event_us, event_id FROM rebuild_finished WHERE team IS NOT NULL
  UNION ALL
  SELECT s.value #>> '{}', e.data->>'team', US(e.time), e.event_id
  FROM event_log e, json_array_elements(e.data->'services') s
  WHERE e.type IN (:planned, :scoped)
), latest AS (SELECT service, max(event_us) AS event_us FROM claims GROUP BY service)
INSERT INTO @service_teams (service, team, event_us, event_id)
SELECT DISTINCT ON (c.service) c.service, c.team, c.event_us, c.event_id
FROM claims c JOIN latest USING (service, event_us)
ORDER BY c.service, c.event_id COLLATE "C" DESC
""",
    """
WITH latest AS (
  SELECT environment, max(event_us) AS event_us FROM rebuild_finished GROUP BY environment
)
INSERT INTO @environment_tiers (environment, environment_tier, event_us, event_id)
SELECT DISTINCT ON (f.environment) f.environment, f.environment_tier, f.event_us, f.event_id
FROM rebuild_finished f JOIN latest USING (environment, event_us)
ORDER BY f.environment, f.event_id COLLATE "C" DESC
""",
    """
INSERT INTO @failures (failure_id, kind, service, environment, named_deployment_id,
  deployment_id, rule, rule_rank, check_name, severity, detected_us, occurred_us)
SELECT event_id, 'health_check', j->>'service', j->>'environment',
  NULLIF(j->>'deployment_id', ''), NULLIF(j->>'deployment_id', ''),
  CASE WHEN COALESCE(j->>'deployment_id', '') <> '' THEN 'named' END,
  CASE WHEN COALESCE(j->>'deployment_id', '') <> '' THEN 1 END,
  j->>'check', j->>'severity', US(j->>'detected_at'), US(j->>'detected_at')
FROM (SELECT event_id, data::jsonb AS j FROM event_log WHERE type = :failed OFFSET 0) e
""",
    """
INSERT INTO @restorations (event_id, failure_id, service, environment, restored_us, how)
SELECT event_id, data->>'failure_event_id', data->>'service', data->>'environment',
  US(data->>'restored_at'), data->>'how'
FROM event_log WHERE type = :restored
""",
    """
INSERT INTO @release_milestones (event_id, release_id, milestone, at_us, team, target_environment)
SELECT event_id, data->>'release_id',
  CASE WHEN type = :planned THEN 'planned' ELSE 'scoped' END,
  CASE WHEN type = :planned THEN US(time) ELSE US(data->>'scoped_at') END,
  data->>'team', data->>'target_environment'
FROM event_log WHERE type IN (:planned, :scoped)
""",
    """
INSERT INTO @change_approvals (event_id, change_id, release_id, approved_us)
SELECT e.event_id, e.data->>'change_id', e.data->>'release_id',
  COALESCE((SELECT max(US(a.value->>'at')) FROM json_array_elements(e.data->'approvals') a),
           US(e.time))
FROM event_log e WHERE e.type = :approved AND COALESCE(e.data->>'release_id', '') <> ''
""",
    """
INSERT INTO @windows_opened (event_id, window_id, environment, opens_us)
SELECT event_id, data->>'window_id', data->>'environment', US(data->>'opens_at')
FROM event_log WHERE type = :window
""",
    """
INSERT INTO @deployment_starts (event_id, deployment_id, release_id, started_us, environment)
SELECT event_id, data->>'deployment_id', data->>'release_id', US(data->>'started_at'),
  data->>'environment'
FROM event_log WHERE type = :started
""",
    """
INSERT INTO @verifications (event_id, deployment_id, release_id, passed_us, environment)
SELECT event_id, data->>'deployment_id', data->>'release_id', US(data->>'passed_at'),
  data->>'environment'
FROM event_log WHERE type = :verified
""",
]


async def extract_facts(conn: AsyncConnection, suffix: str) -> None:
    """Fill the empty fact tables named with `suffix` from the whole log; teams are resolved
    afterwards."""
    # Parsing a million documents is the rebuild's biggest step: let PostgreSQL's parallel
    # workers share it (its cost model, blind to the parsing, would keep it on one core).
    await conn.execute(text("SET LOCAL parallel_setup_cost = 0"))
    await conn.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    await conn.execute(text(_expand(PARSED_DEPLOYMENT_EVENTS)), {"finished": TYPES["finished"]})
    await conn.execute(text("SET LOCAL parallel_setup_cost TO DEFAULT"))
    await conn.execute(text("SET LOCAL parallel_tuple_cost TO DEFAULT"))
    await conn.execute(text("ANALYZE rebuild_finished"))
    for statement in STATEMENTS:
        names = {name: value for name, value in TYPES.items() if f":{name}" in statement}
        await conn.execute(text(_expand(statement, suffix)), names)
