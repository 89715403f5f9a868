"""Governance: policies, templates, changes, approvals, outcome history, blackouts, the
audit chain and webhook deliveries.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("environment", sa.String(100)),
        sa.Column("max_impact", sa.String(16), nullable=False),
        sa.Column("max_complexity", sa.String(16), nullable=False),
        sa.Column("allows_schema_changes", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    _changes()
    _history()
    _audit()
    _webhooks()


def _changes() -> None:
    op.create_table(
        "changes",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("release_id", sa.String(200), unique=True),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("impact", sa.String(16), nullable=False),
        sa.Column("complexity", sa.String(16), nullable=False),
        sa.Column("schema_changes", sa.Boolean, nullable=False),
        sa.Column("planned_start", TIME, nullable=False),
        sa.Column("planned_end", TIME, nullable=False),
        sa.Column("template_id", sa.String(36), sa.ForeignKey("templates.id")),
        sa.Column("classification", sa.String(16), nullable=False),
        sa.Column("risk_score", sa.Float, nullable=False),
        sa.Column("risk_level", sa.String(16), nullable=False),
        sa.Column("risk_factors", sa.JSON, nullable=False),
        sa.Column("policy_version", sa.Integer, sa.ForeignKey("policies.version"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("oversight_required", sa.Boolean, nullable=False),
        sa.Column("close_code", sa.String(32)),
        sa.Column("closed_at", TIME),
        sa.Column("approved_at", TIME),
        sa.Column("review_due_at", TIME),
        sa.Column("reviewed_at", TIME),
        sa.Column("review", sa.JSON),
        sa.Column("deployment_id", sa.String(200)),
        sa.Column("implemented_at", TIME),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    for column in ("state", "closed_at", "review_due_at", "deployment_id"):
        op.create_index(f"ix_changes_{column}", "changes", [column])
    op.create_index("ix_changes_window", "changes", ["planned_start", "planned_end"])
    op.create_table(
        "change_services",
        sa.Column(
            "change_id",
            sa.String(36),
            sa.ForeignKey("changes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("service", sa.String(200), primary_key=True),
    )
    op.create_index("ix_change_services_service", "change_services", ["service"])
    op.create_table(
        "approvals",
        sa.Column(
            "change_id",
            sa.String(36),
            sa.ForeignKey("changes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("approver", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("at", TIME, nullable=False),
    )


def _history() -> None:
    op.create_table(
        "deployments",
        sa.Column("deployment_id", sa.String(200), primary_key=True),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("failed", sa.Boolean, nullable=False),
        sa.Column("change_id", sa.String(36)),
        sa.Column("finished_at", TIME, nullable=False),
    )
    op.create_index(
        "ix_deployments_service_env_finished",
        "deployments",
        ["service", "environment", "finished_at"],
    )
    op.create_table(
        "health_failures",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("deployment_id", sa.String(200)),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(100), nullable=False),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("detected_at", TIME, nullable=False),
    )
    op.create_index("ix_health_failures_deployment_id", "health_failures", ["deployment_id"])
    op.create_table(
        "failure_buckets",
        sa.Column("service", sa.String(200), primary_key=True),
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("deployments", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_table(
        "blackouts",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(300)),
        sa.Column("reason", sa.String(32)),
        sa.Column("starts_at", TIME),
        sa.Column("ends_at", TIME),
        sa.Column("timezone", sa.String(64)),
        sa.Column("rrule", sa.Text),
        sa.Column("services", sa.JSON),
        sa.Column("teams", sa.JSON),
        sa.Column("withdrawn_at", TIME),
    )


def _audit() -> None:
    op.create_table(
        "audit_records",
        sa.Column("seq", BIG_ID, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_records_subject", "audit_records", ["subject"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def _webhooks() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("event_types", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.String(36),
            sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("next_attempt_at", TIME),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("delivered_at", TIME),
        sa.Column("abandoned_at", TIME),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_id", "webhook_deliveries", ["subscription_id"]
    )
    op.create_index(
        "ix_webhook_deliveries_next_attempt_at", "webhook_deliveries", ["next_attempt_at"]
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "webhook_subscriptions",
        "audit_head",
        "audit_records",
        "blackouts",
        "failure_buckets",
        "health_failures",
        "deployments",
        "approvals",
        "change_services",
        "changes",
        "templates",
        "policies",
    ):
        op.drop_table(table)
