"""Releases, scope items, toggles, sign-offs, known issues, deployments, change rejections
and the business calendar.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 64
NAME = 200


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _release_ref(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "release_id",
        sa.String(ID),
        sa.ForeignKey("releases.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("version", sa.String(NAME), nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("team", sa.String(NAME), nullable=False),
        sa.Column("target_environment", sa.String(NAME), nullable=False),
        _time("planned_start"),
        _time("planned_end"),
        sa.Column("owner", sa.String(NAME), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("resource_version", sa.Integer, nullable=False),
        sa.Column("rollback_criteria", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(NAME), nullable=False),
        _time("created_at"),
        _time("scoped_at", nullable=True),
        _time("cancelled_at", nullable=True),
        sa.Column("cancel_reason", sa.Text),
    )
    op.create_index("ix_releases_planned_start", "releases", ["planned_start", "id"])
    op.create_index("ix_releases_state", "releases", ["state", "planned_start", "id"])
    op.create_index("ix_releases_team", "releases", ["team", "planned_start", "id"])
    op.create_table(
        "release_services",
        _release_ref(primary_key=True),
        sa.Column("service", sa.String(NAME), primary_key=True),
        _time("planned_start"),
    )
    op.create_index(
        "ix_release_services_service",
        "release_services",
        ["service", "planned_start", "release_id"],
    )
    op.create_table(
        "items",
        sa.Column("id", sa.String(ID), primary_key=True),
        _release_ref(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(NAME), nullable=False),
        sa.Column("title_key", sa.String(NAME), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("regulatory", sa.Boolean, nullable=False),
        sa.Column("depends_on", sa.JSON, nullable=False),
        sa.Column("commits", sa.JSON, nullable=False),
        sa.Column("feature_toggle", sa.String(NAME)),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("release_id", "title_key", name="uq_items_release_title"),
    )
    op.create_index("ix_items_release", "items", ["release_id", "position"])
    op.create_table(
        "toggles",
        _release_ref(primary_key=True),
        sa.Column("key", sa.String(NAME), primary_key=True),
        sa.Column("owner", sa.String(NAME), nullable=False),
        sa.Column("default_on", sa.Boolean, nullable=False),
        sa.Column("remove_by", sa.Date, nullable=False),
        sa.Column("description", sa.Text),
    )
    op.create_index("ix_toggles_remove_by", "toggles", ["remove_by", "release_id", "key"])
    op.create_table(
        "signoffs",
        sa.Column("id", sa.String(ID), primary_key=True),
        _release_ref(),
        sa.Column("function", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("signer", sa.String(NAME), nullable=False),
        sa.Column("note", sa.Text),
        _time("signed_at"),
    )
    op.create_index("ix_signoffs_release", "signoffs", ["release_id", "signed_at"])
    op.create_table(
        "known_issues",
        sa.Column("id", sa.String(ID), primary_key=True),
        _release_ref(),
        sa.Column("title", sa.String(NAME), nullable=False),
        sa.Column("workaround", sa.Text, nullable=False),
        sa.Column("impact", sa.Text, nullable=False),
        sa.Column("reported_by", sa.String(NAME), nullable=False),
        _time("reported_at"),
    )
    op.create_index("ix_known_issues_release", "known_issues", ["release_id", "reported_at"])
    op.create_table(
        "deployments",
        sa.Column("release_id", sa.String(ID), primary_key=True),
        sa.Column("service", sa.String(NAME), primary_key=True),
        sa.Column("deployment_id", sa.String(NAME), nullable=False),
        _time("finished_at"),
    )
    op.create_table(
        "change_rejections",
        sa.Column("release_id", sa.String(ID), primary_key=True),
        sa.Column("change_id", sa.String(NAME), primary_key=True),
        sa.Column("rejected_by", sa.String(NAME), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _time("rejected_at"),
    )
    op.create_table(
        "blackouts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("rrule", sa.Text),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("teams", sa.JSON, nullable=False),
        sa.Column("declared_by", sa.String(NAME), nullable=False),
        _time("declared_at"),
    )
    op.create_index("ix_blackouts_declared", "blackouts", ["declared_at", "id"])


def downgrade() -> None:
    for table in (
        "blackouts",
        "change_rejections",
        "deployments",
        "known_issues",
        "signoffs",
        "toggles",
        "items",
        "release_services",
        "releases",
    ):
        op.drop_table(table)
