"""Tables of the governance service."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from flightdeck.events.tables import BigId
from flightdeck.kit.db import UtcDateTime

metadata = MetaData()

policies = Table(
    "policies",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False),
)
"""Versions of the change policy; a new version is a new row, never an update."""

templates = Table(
    "templates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("services", JSON, nullable=False),
    Column("environment", String(100)),
    Column("max_impact", String(16), nullable=False),
    Column("max_complexity", String(16), nullable=False),
    Column("allows_schema_changes", Boolean, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
"""Pre-approved change templates (standard changes)."""

changes = Table(
    "changes",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("release_id", String(200), unique=True),
    Column("services", JSON, nullable=False),
    Column("team", String(200)),
    Column("environment", String(100), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("impact", String(16), nullable=False),
    Column("complexity", String(16), nullable=False),
    Column("schema_changes", Boolean, nullable=False),
    Column("planned_start", UtcDateTime, nullable=False),
    Column("planned_end", UtcDateTime, nullable=False),
    Column("template_id", String(36), ForeignKey("templates.id")),
    Column("classification", String(16), nullable=False),
    Column("risk_score", Float, nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("risk_factors", JSON, nullable=False),
    Column("policy_version", Integer, ForeignKey("policies.version"), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("requested_by", String(200), nullable=False),
    Column("oversight_required", Boolean, nullable=False),
    Column("close_code", String(32)),
    Column("closed_at", UtcDateTime, index=True),
    Column("approved_at", UtcDateTime),
    Column("review_due_at", UtcDateTime, index=True),
    Column("reviewed_at", UtcDateTime),
    Column("review", JSON),
    Column("deployment_id", String(200), index=True),
    Column("implemented_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_changes_window", "planned_start", "planned_end"),
)
"""Change requests. `number` is the sequence behind the ITSM number (CHG0000042);
`release_id` is unique, so a scoped release makes one change however often it is delivered."""

change_services = Table(
    "change_services",
    metadata,
    Column("change_id", String(36), ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True),
    Column("service", String(200), primary_key=True, index=True),
)
"""The services a change touches, one row each (for conflicts and per-service figures)."""

approvals = Table(
    "approvals",
    metadata,
    Column("change_id", String(36), ForeignKey("changes.id", ondelete="CASCADE"), primary_key=True),
    Column("approver", String(200), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
"""Decisions on changes; one per person and change (the key enforces that a person counts
once)."""

deployments = Table(
    "deployments",
    metadata,
    Column("deployment_id", String(200), primary_key=True),
    Column("service", String(200), nullable=False),
    Column("team", String(200), nullable=False),
    Column("environment", String(100), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("failed", Boolean, nullable=False),
    Column("change_id", String(36)),
    Column("finished_at", UtcDateTime, nullable=False),
    Index("ix_deployments_service_env_finished", "service", "environment", "finished_at"),
)
"""Deployment outcomes learned from DeploymentFinished (and HealthCheckFailed)."""

health_failures = Table(
    "health_failures",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("deployment_id", String(200), index=True),
    Column("service", String(200), nullable=False),
    Column("environment", String(100), nullable=False),
    Column("check_name", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
)
"""Failed health checks, kept by a natural key (so a replay under another event id is the
same failure) and so a failure arriving before its deployment is applied when it comes."""

failure_buckets = Table(
    "failure_buckets",
    metadata,
    Column("service", String(200), primary_key=True),
    Column("team", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("deployments", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
)
"""Production deployments and failures per service, team and UTC day: risk reads a few
hundred rows, not every deployment."""

blackouts = Table(
    "blackouts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(300)),
    Column("reason", String(32)),
    Column("starts_at", UtcDateTime),
    Column("ends_at", UtcDateTime),
    Column("timezone", String(64)),
    Column("rrule", Text),
    Column("services", JSON),
    Column("teams", JSON),
    Column("withdrawn_at", UtcDateTime),
)
"""Planning's blackout periods, mirrored. A withdrawal arriving first leaves a row with only
`withdrawn_at`, so the late declaration does not bring the blackout back."""

audit_records = Table(
    "audit_records",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("subject", String(200), nullable=False, index=True),
    Column("action", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""The hash-chained audit trail (append only)."""

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""The last record of the chain (one row). Appends lock it, so the chain cannot fork; verify
compares it with the last record, so deleting the newest records is noticed too."""

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
"""Outbound webhook receivers (ITSM tools)."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "subscription_id",
        String(36),
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("event_type", String(200), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, index=True),
    Column("attempts", Integer, nullable=False),
    Column("delivered_at", UtcDateTime),
    Column("abandoned_at", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
)
"""Webhook calls to make, written with the state change; `next_attempt_at` is null once
delivered or abandoned."""
