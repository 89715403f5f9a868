"""Tables of the planning service (kept in step with migrations/versions)."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from flightdeck.kit.db import UtcDateTime

metadata = MetaData()

ID = 64
NAME = 200
FOLDED = 3 * NAME
"""A case-folded name: folding may turn one character into three ("ΐ")."""


def _release_ref(*, primary_key: bool = False) -> Column[str]:
    """The column naming the release a row belongs to (deleted with it)."""
    return Column(
        "release_id",
        String(ID),
        ForeignKey("releases.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


releases = Table(
    "releases",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("version", String(NAME), nullable=False),
    Column("services", JSON, nullable=False),
    Column("team", String(NAME), nullable=False),
    Column("target_environment", String(NAME), nullable=False),
    Column("planned_start", UtcDateTime, nullable=False),
    Column("planned_end", UtcDateTime, nullable=False),
    Column("owner", String(NAME), nullable=False),
    Column("state", String(16), nullable=False),
    Column("resource_version", Integer, nullable=False),
    Column("rollback_criteria", JSON, nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("scoped_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),
    Index("ix_releases_planned_start", "planned_start", "id"),
    Index("ix_releases_state", "state", "planned_start", "id"),
    Index("ix_releases_team", "team", "planned_start", "id"),
)
"""Releases; `resource_version` is the ETag, `version` the software version."""

release_services = Table(
    "release_services",
    metadata,
    _release_ref(primary_key=True),
    Column("service", String(NAME), primary_key=True),
    Column("planned_start", UtcDateTime, nullable=False),
    Index("ix_release_services_service", "service", "planned_start", "release_id"),
)
"""The services of each release, for the `service` filter (planned_start copied for order)."""

items = Table(
    "items",
    metadata,
    Column("id", String(ID), primary_key=True),
    _release_ref(),
    Column("kind", String(16), nullable=False),
    Column("title", String(NAME), nullable=False),
    Column("title_key", String(FOLDED), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("regulatory", Boolean, nullable=False),
    Column("depends_on", JSON, nullable=False),
    Column("commits", JSON, nullable=False),
    Column("feature_toggle", String(NAME)),
    Column("position", Integer, nullable=False),
    UniqueConstraint("release_id", "title_key", name="uq_items_release_title"),
    Index("ix_items_release", "release_id", "position"),
)
"""Scope items; dependencies and commits travel with the item (loaded in one query)."""

toggles = Table(
    "toggles",
    metadata,
    _release_ref(primary_key=True),
    Column("key", String(NAME), primary_key=True),
    Column("owner", String(NAME), nullable=False),
    Column("default_on", Boolean, nullable=False),
    Column("remove_by", Date, nullable=False),
    Column("description", Text),
    Index("ix_toggles_remove_by", "remove_by", "release_id", "key"),
)
"""Documented feature toggles of each release."""

signoffs = Table(
    "signoffs",
    metadata,
    Column("id", String(ID), primary_key=True),
    _release_ref(),
    Column("function", String(16), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("signer", String(NAME), nullable=False),
    Column("note", Text),
    Column("signed_at", UtcDateTime, nullable=False),
    Index("ix_signoffs_release", "release_id", "signed_at"),
)
"""Readiness decisions, every one kept (the latest per function counts)."""

known_issues = Table(
    "known_issues",
    metadata,
    Column("id", String(ID), primary_key=True),
    _release_ref(),
    Column("title", String(NAME), nullable=False),
    Column("workaround", Text, nullable=False),
    Column("impact", Text, nullable=False),
    Column("reported_by", String(NAME), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Index("ix_known_issues_release", "release_id", "reported_at"),
)
"""Known issues for the release notes."""

deployments = Table(
    "deployments",
    metadata,
    Column("release_id", String(ID), primary_key=True),
    Column("service", String(NAME), primary_key=True),
    Column("deployment_id", String(NAME), nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
)
"""The first succeeded production deployment per release and service (from executor's
DeploymentFinished). No foreign key: one may arrive before its release is known here."""

change_rejections = Table(
    "change_rejections",
    metadata,
    Column("release_id", String(ID), primary_key=True),
    Column("change_id", String(NAME), primary_key=True),
    Column("rejected_by", String(NAME), nullable=False),
    Column("reason", Text, nullable=False),
    Column("rejected_at", UtcDateTime, nullable=False),
)
"""Change requests governance rejected, per release (no foreign key, as above)."""

blackouts = Table(
    "blackouts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("rrule", Text),
    Column("services", JSON, nullable=False),
    Column("teams", JSON, nullable=False),
    Column("declared_by", String(NAME), nullable=False),
    Column("declared_at", UtcDateTime, nullable=False),
    Index("ix_blackouts_declared", "declared_at", "id"),
)
"""The business calendar's blackout periods (first occurrence and recurrence rule)."""
