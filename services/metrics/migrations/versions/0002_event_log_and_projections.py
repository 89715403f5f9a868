"""The event log, the facts read from it and the DORA and value-stream projections.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_approvals",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("change_id", sa.Text(), nullable=False),
        sa.Column("release_id", sa.Text(), nullable=False),
        sa.Column("approved_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("change_approvals", schema=None) as batch_op:
        batch_op.create_index("ix_change_approvals_release", ["release_id"], unique=False)

    op.create_table(
        "commit_leads",
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("sha", sa.Text(), nullable=False),
        sa.Column("environment_tier", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("deployed_us", sa.BigInteger(), nullable=False),
        sa.Column("lead_authored_us", sa.BigInteger(), nullable=False),
        sa.Column("lead_merged_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("repo", "sha", "environment_tier"),
    )
    with op.batch_alter_table("commit_leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commit_leads_deployed", ["environment_tier", "deployed_us"], unique=False
        )
        batch_op.create_index(
            "ix_commit_leads_service",
            ["environment_tier", "service", "deployed_us"],
            unique=False,
            postgresql_include=["lead_authored_us", "lead_merged_us"],
        )
        batch_op.create_index(
            "ix_commit_leads_team",
            ["environment_tier", "team", "deployed_us"],
            unique=False,
            postgresql_include=["lead_authored_us", "lead_merged_us"],
        )

    op.create_table(
        "daily_deployments",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("environment_tier", sa.String(length=32), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("deployments", sa.Integer(), nullable=False),
        sa.Column("rework", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "service", "environment_tier", "team"),
    )
    with op.batch_alter_table("daily_deployments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_daily_deployments_team",
            ["environment_tier", "team", "day"],
            unique=False,
            postgresql_include=["deployments", "rework", "failed"],
        )
        batch_op.create_index(
            "ix_daily_deployments_tier", ["environment_tier", "day"], unique=False
        )

    op.create_table(
        "deployment_commits",
        sa.Column("deployment_id", sa.Text(), nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("sha", sa.Text(), nullable=False),
        sa.Column("authored_us", sa.BigInteger(), nullable=False),
        sa.Column("merged_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("deployment_id", "repo", "sha"),
    )
    with op.batch_alter_table("deployment_commits", schema=None) as batch_op:
        batch_op.create_index("ix_deployment_commits_commit", ["repo", "sha"], unique=False)

    op.create_table(
        "deployment_starts",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("deployment_id", sa.Text(), nullable=False),
        sa.Column("release_id", sa.Text(), nullable=True),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("deployment_starts", schema=None) as batch_op:
        batch_op.create_index("ix_deployment_starts_release", ["release_id"], unique=False)

    op.create_table(
        "deployments",
        sa.Column("deployment_id", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("environment_tier", sa.String(length=32), nullable=False),
        sa.Column("declared_team", sa.Text(), nullable=True),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("is_rollback", sa.Boolean(), nullable=False),
        sa.Column("is_unplanned", sa.Boolean(), nullable=False),
        sa.Column("rollback_of", sa.Text(), nullable=True),
        sa.Column("release_id", sa.Text(), nullable=True),
        sa.Column("change_id", sa.Text(), nullable=True),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_us", sa.BigInteger(), nullable=False),
        sa.Column("finished_day", sa.Integer(), nullable=False),
        sa.Column("failure_rule", sa.String(length=32), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("deployment_id"),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index("ix_deployments_day", ["service", "finished_day"], unique=False)
        batch_op.create_index(
            "ix_deployments_release",
            ["release_id"],
            unique=False,
            postgresql_where=sa.text("release_id IS NOT NULL"),
            sqlite_where=sa.text("release_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_deployments_rollbacks",
            ["service", "environment", "finished_us"],
            unique=False,
            postgresql_where=sa.text("is_rollback IS true AND succeeded IS true"),
            sqlite_where=sa.text("is_rollback IS 1 AND succeeded IS 1"),
        )
        batch_op.create_index("ix_deployments_service", ["service", "finished_us"], unique=False)
        batch_op.create_index(
            "ix_deployments_team", ["environment_tier", "team", "finished_us"], unique=False
        )
        batch_op.create_index(
            "ix_deployments_tier", ["environment_tier", "finished_us"], unique=False
        )

    op.create_table(
        "environment_tiers",
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("environment_tier", sa.String(length=32), nullable=False),
        sa.Column("event_us", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("environment"),
    )
    op.create_table(
        "event_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.create_index("ix_event_log_correlation_id", ["correlation_id"], unique=False)
        batch_op.create_index("ix_event_log_subject", ["subject"], unique=False)
        batch_op.create_index("ix_event_log_time", ["time"], unique=False)
        batch_op.create_index("ix_event_log_type_time", ["type", "time"], unique=False)

    op.create_table(
        "failures",
        sa.Column("failure_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("named_deployment_id", sa.Text(), nullable=True),
        sa.Column("deployment_id", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("rule_rank", sa.Integer(), nullable=True),
        sa.Column("check_name", sa.Text(), nullable=True),
        sa.Column("severity", sa.String(length=32), nullable=True),
        sa.Column("detected_us", sa.BigInteger(), nullable=True),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("recovered_us", sa.BigInteger(), nullable=True),
        sa.Column("recovered_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("failure_id"),
    )
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.create_index("ix_failures_deployment", ["deployment_id"], unique=False)
        batch_op.create_index("ix_failures_occurred", ["occurred_us"], unique=False)
        batch_op.create_index(
            "ix_failures_recovery", ["service", "environment", "kind", "recovered_us"], unique=False
        )
        batch_op.create_index(
            "ix_failures_scope", ["service", "environment", "occurred_us"], unique=False
        )

    op.create_table(
        "release_milestones",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("release_id", sa.Text(), nullable=False),
        sa.Column("milestone", sa.String(length=32), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("target_environment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("release_milestones", schema=None) as batch_op:
        batch_op.create_index("ix_release_milestones_release", ["release_id"], unique=False)
        batch_op.create_index("ix_release_milestones_team", ["team", "at_us"], unique=False)

    op.create_table(
        "restorations",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("failure_id", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("restored_us", sa.BigInteger(), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("restorations", schema=None) as batch_op:
        batch_op.create_index("ix_restorations_failure", ["failure_id"], unique=False)

    op.create_table(
        "service_teams",
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("event_us", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("service"),
    )
    with op.batch_alter_table("service_teams", schema=None) as batch_op:
        batch_op.create_index("ix_service_teams_team", ["team"], unique=False)

    op.create_table(
        "verifications",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("deployment_id", sa.Text(), nullable=True),
        sa.Column("release_id", sa.Text(), nullable=True),
        sa.Column("passed_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index("ix_verifications_deployment", ["deployment_id"], unique=False)
        batch_op.create_index("ix_verifications_release", ["release_id"], unique=False)

    op.create_table(
        "windows_opened",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("window_id", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("opens_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("windows_opened", schema=None) as batch_op:
        batch_op.create_index(
            "ix_windows_opened_environment", ["environment", "opens_us"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("windows_opened", schema=None) as batch_op:
        batch_op.drop_index("ix_windows_opened_environment")

    op.drop_table("windows_opened")
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index("ix_verifications_release")
        batch_op.drop_index("ix_verifications_deployment")

    op.drop_table("verifications")
    with op.batch_alter_table("service_teams", schema=None) as batch_op:
        batch_op.drop_index("ix_service_teams_team")

    op.drop_table("service_teams")
    with op.batch_alter_table("restorations", schema=None) as batch_op:
        batch_op.drop_index("ix_restorations_failure")

    op.drop_table("restorations")
    with op.batch_alter_table("release_milestones", schema=None) as batch_op:
        batch_op.drop_index("ix_release_milestones_team")
        batch_op.drop_index("ix_release_milestones_release")

    op.drop_table("release_milestones")
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.drop_index("ix_failures_scope")
        batch_op.drop_index("ix_failures_recovery")
        batch_op.drop_index("ix_failures_occurred")
        batch_op.drop_index("ix_failures_deployment")

    op.drop_table("failures")
    with op.batch_alter_table("event_log", schema=None) as batch_op:
        batch_op.drop_index("ix_event_log_type_time")
        batch_op.drop_index("ix_event_log_time")
        batch_op.drop_index("ix_event_log_subject")
        batch_op.drop_index("ix_event_log_correlation_id")

    op.drop_table("event_log")
    op.drop_table("environment_tiers")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_index("ix_deployments_tier")
        batch_op.drop_index("ix_deployments_team")
        batch_op.drop_index("ix_deployments_service")
        batch_op.drop_index(
            "ix_deployments_rollbacks",
            postgresql_where=sa.text("is_rollback IS true AND succeeded IS true"),
            sqlite_where=sa.text("is_rollback IS 1 AND succeeded IS 1"),
        )
        batch_op.drop_index(
            "ix_deployments_release",
            postgresql_where=sa.text("release_id IS NOT NULL"),
            sqlite_where=sa.text("release_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_deployments_day")

    op.drop_table("deployments")
    with op.batch_alter_table("deployment_starts", schema=None) as batch_op:
        batch_op.drop_index("ix_deployment_starts_release")

    op.drop_table("deployment_starts")
    with op.batch_alter_table("deployment_commits", schema=None) as batch_op:
        batch_op.drop_index("ix_deployment_commits_commit")

    op.drop_table("deployment_commits")
    with op.batch_alter_table("daily_deployments", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_deployments_tier")
        batch_op.drop_index(
            "ix_daily_deployments_team", postgresql_include=["deployments", "rework", "failed"]
        )

    op.drop_table("daily_deployments")
    with op.batch_alter_table("commit_leads", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_commit_leads_team", postgresql_include=["lead_authored_us", "lead_merged_us"]
        )
        batch_op.drop_index(
            "ix_commit_leads_service", postgresql_include=["lead_authored_us", "lead_merged_us"]
        )
        batch_op.drop_index("ix_commit_leads_deployed")

    op.drop_table("commit_leads")
    with op.batch_alter_table("change_approvals", schema=None) as batch_op:
        batch_op.drop_index("ix_change_approvals_release")

    op.drop_table("change_approvals")
