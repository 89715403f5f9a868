"""Tables of the metrics service: the event log, the facts read from it, and the projections
derived from those facts.

Projection times are integer microseconds since the epoch (`*_us`) and days are epoch day
numbers: differences (lead time, recovery time) and bucket arithmetic then come out exactly the
same on PostgreSQL and SQLite, and compare as plain integers.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    FetchedValue,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from flightdeck.events.tables import BigId, UtcDateTime

metadata = MetaData()

Micros = BigInteger
"""Microseconds since 1970-01-01T00:00:00Z."""

event_log = Table(
    "event_log",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("type", String(255), nullable=False),
    Column("subject", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("correlation_id", Text),
    Column("data", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("txid", BigInteger, nullable=False, server_default=FetchedValue()),
    Index("ix_event_log_type_time", "type", "time"),
    Index("ix_event_log_time", "time", postgresql_using="brin"),
    Index("ix_event_log_subject", "subject"),
    Index("ix_event_log_correlation_id", "correlation_id"),
    Index("ix_event_log_order", "txid", "seq"),
)
"""Every event consumed, once (by `ce_id`); append-only. Events arrive roughly in time
order, so on PostgreSQL a BRIN index (a few pages, next to free to maintain) serves time
ranges.

`txid` is the id of the transaction that logged the event on PostgreSQL (its column default,
migration 0007), 0 on SQLite. Transactions append concurrently, so `seq` alone does not follow
commit order; (txid, seq) does for every transaction older than the oldest still running,
which is how `/events` pages the log (`queries.LOG_HORIZON`)."""

# --- facts: one row per event of a kind, keyed naturally --------------------------------

deployments = Table(
    "deployments",
    metadata,
    Column("deployment_id", Text, primary_key=True),
    Column("service", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("environment_tier", String(32), nullable=False),
    Column("declared_team", Text),
    Column("team", Text, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("is_rollback", Boolean, nullable=False),
    Column("is_unplanned", Boolean, nullable=False),
    Column("rollback_of", Text),
    Column("release_id", Text),
    Column("change_id", Text),
    Column("version", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("started_us", Micros, nullable=False),
    Column("finished_us", Micros, nullable=False),
    Column("finished_day", Integer, nullable=False),
    Column("failure_rule", String(32)),
    Column("event_id", Text, nullable=False),
    Column("event_us", Micros, nullable=False),
    Index("ix_deployments_service", "service", "finished_us"),
    Index(
        "ix_deployments_rollbacks",
        "service",
        "environment",
        "finished_us",
        postgresql_where=text("is_rollback IS true AND succeeded IS true"),
        sqlite_where=text("is_rollback IS 1 AND succeeded IS 1"),
    ),
    Index("ix_deployments_team", "environment_tier", "team", "finished_us"),
    Index("ix_deployments_tier", "environment_tier", "finished_us"),
    Index(
        "ix_deployments_release",
        "release_id",
        postgresql_where=text("release_id IS NOT NULL"),
        sqlite_where=text("release_id IS NOT NULL"),
    ),
)
"""DeploymentFinished, one row per deployment (a later event for the same id replaces it).
`team` is the declared team, else the service's team ('' when neither is known);
`failure_rule` is the first attribution rule that marks it failed (null when none)."""

deployment_commits = Table(
    "deployment_commits",
    metadata,
    Column("deployment_id", Text, primary_key=True),
    Column("repo", Text, primary_key=True),
    Column("sha", Text, primary_key=True),
    Column("authored_us", Micros, nullable=False),
    Column("merged_us", Micros),
    Index("ix_deployment_commits_commit", "repo", "sha"),
)
"""The commits each deployment carried."""

health_failures = Table(
    "failures",
    metadata,
    Column("failure_id", Text, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("service", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("named_deployment_id", Text),
    Column("deployment_id", Text),
    Column("rule", String(32)),
    Column("rule_rank", Integer),
    Column("check_name", Text),
    Column("severity", String(32)),
    Column("detected_us", Micros),
    Column("occurred_us", Micros, nullable=False),
    Column("recovered_us", Micros),
    Column("recovered_by", String(32)),
    Index("ix_failures_scope", "service", "environment", "occurred_us"),
    Index("ix_failures_recovery", "service", "environment", "kind", "recovered_us"),
    Index(
        "ix_failures_open",
        "service",
        "environment",
        postgresql_where=text("kind = 'health_check' AND recovered_us IS NULL"),
        sqlite_where=text("kind = 'health_check' AND recovered_us IS NULL"),
    ),
    Index("ix_failures_deployment", "deployment_id"),
    Index("ix_failures_occurred", "occurred_us"),
)
"""Failures: one per HealthCheckFailed (`failure_id` is its ce_id, detected, recoverable) and
one per rollback deployment (`rollback:<deployment id>`, no detection time), each with the
deployment it is attributed to, the rule used and, for health checks, when service recovered."""

restorations = Table(
    "restorations",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("failure_id", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("restored_us", Micros, nullable=False),
    Column("how", String(32), nullable=False),
    Index("ix_restorations_failure", "failure_id"),
)
"""ServiceRestored, naming the HealthCheckFailed it ends."""

service_teams = Table(
    "service_teams",
    metadata,
    Column("service", Text, primary_key=True),
    Column("team", Text, nullable=False),
    Column("event_us", Micros, nullable=False),
    Column("event_id", Text, nullable=False),
    Index("ix_service_teams_team", "team"),
)
"""Which team owns a service: from the latest (event time, then ce_id) DeploymentFinished with
a team, ReleasePlanned or ReleaseScoped naming it."""

environment_tiers = Table(
    "environment_tiers",
    metadata,
    Column("environment", Text, primary_key=True),
    Column("environment_tier", String(32), nullable=False),
    Column("event_us", Micros, nullable=False),
    Column("event_id", Text, nullable=False),
)
"""The tier of each environment, from the latest DeploymentFinished on it."""

release_milestones = Table(
    "release_milestones",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("release_id", Text, nullable=False),
    Column("milestone", String(32), nullable=False),
    Column("at_us", Micros, nullable=False),
    Column("team", Text, nullable=False),
    Column("target_environment", Text, nullable=False),
    Index("ix_release_milestones_release", "release_id"),
    Index("ix_release_milestones_team", "team", "at_us"),
)
"""ReleasePlanned (`planned`, at the event's time) and ReleaseScoped (`scoped`, at `scoped_at`)."""

change_approvals = Table(
    "change_approvals",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("change_id", Text, nullable=False),
    Column("release_id", Text, nullable=False),
    Column("approved_us", Micros, nullable=False),
    Index("ix_change_approvals_release", "release_id"),
)
"""ChangeApproved events that name a release."""

windows_opened = Table(
    "windows_opened",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("window_id", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("opens_us", Micros, nullable=False),
    Index("ix_windows_opened_environment", "environment", "opens_us"),
)
"""WindowOpened events."""

deployment_starts = Table(
    "deployment_starts",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("deployment_id", Text, nullable=False),
    Column("release_id", Text),
    Column("started_us", Micros, nullable=False),
    Column("environment", Text),
    Index("ix_deployment_starts_release", "release_id"),
)
"""DeploymentStarted events."""

verifications = Table(
    "verifications",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("deployment_id", Text),
    Column("release_id", Text),
    Column("passed_us", Micros, nullable=False),
    Column("environment", Text),
    Index("ix_verifications_release", "release_id"),
    Index("ix_verifications_deployment", "deployment_id"),
)
"""VerificationPassed events."""

# --- projections derived from the facts -------------------------------------------------

commit_leads = Table(
    "commit_leads",
    metadata,
    Column("repo", Text, primary_key=True),
    Column("sha", Text, primary_key=True),
    Column("environment_tier", String(32), primary_key=True),
    Column("deployment_id", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("team", Text, nullable=False),
    Column("deployed_us", Micros, nullable=False),
    Column("lead_authored_us", Micros, nullable=False),
    Column("lead_merged_us", Micros),
    Index(
        "ix_commit_leads_team",
        "environment_tier",
        "team",
        "deployed_us",
        postgresql_include=["lead_authored_us", "lead_merged_us"],
    ),
    Index(
        "ix_commit_leads_service",
        "environment_tier",
        "service",
        "deployed_us",
        postgresql_include=["lead_authored_us", "lead_merged_us"],
    ),
    Index("ix_commit_leads_deployed", "environment_tier", "deployed_us"),
)
"""Each distinct commit once per tier, at its first succeeded non-rollback deployment there.
The team and service indexes cover the lead times, so `/dora` reads them index-only."""

daily_deployments = Table(
    "daily_deployments",
    metadata,
    Column("day", Integer, primary_key=True),
    Column("service", Text, primary_key=True),
    Column("environment_tier", String(32), primary_key=True),
    Column("team", Text, primary_key=True),
    Column("deployments", Integer, nullable=False),
    Column("rework", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Index(
        "ix_daily_deployments_team",
        "environment_tier",
        "team",
        "day",
        postgresql_include=["deployments", "rework", "failed"],
    ),
    Index("ix_daily_deployments_tier", "environment_tier", "day"),
)
"""Succeeded deployments per UTC day, service, tier and team: how many, how many were rework
(rollback or unplanned) and how many have an attributed failure."""

PROJECTIONS = (
    deployments,
    deployment_commits,
    health_failures,
    restorations,
    service_teams,
    environment_tiers,
    release_milestones,
    change_approvals,
    windows_opened,
    deployment_starts,
    verifications,
    commit_leads,
    daily_deployments,
)
"""Everything a rebuild recomputes from the log."""
