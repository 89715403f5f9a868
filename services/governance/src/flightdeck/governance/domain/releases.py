"""How a scoped release becomes a change request (the mapping is documented in
docs/governance.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from flightdeck.events.catalogue.planning import ItemKind, ReleaseScoped, ScopeItem
from flightdeck.governance.domain.lifecycle import ChangeDraft
from flightdeck.governance.domain.model import Complexity, Impact, Urgency

DEFAULT_WINDOW = timedelta(hours=1)
"""The planned length of a release change when the release names no end."""
SCHEMA_HINT = re.compile(r"\b(schema|migration|migrate|ddl)\b", re.IGNORECASE)


def release_impact(items: Sequence[ScopeItem], services: Sequence[str]) -> Impact:
    """High with a regulatory item or three services or more; medium with any feature;
    low for fixes and chores only."""
    if any(item.regulatory for item in items) or len(set(services)) >= 3:
        return Impact.HIGH
    if any(item.kind is ItemKind.FEATURE for item in items):
        return Impact.MEDIUM
    return Impact.LOW


def release_complexity(items: Sequence[ScopeItem]) -> Complexity:
    """High past ten items or with dependency chains (an item depending on one that depends
    on another); medium past three items or with any dependency; low otherwise."""
    depends = {item.item_id: set(item.depends_on) for item in items}
    chained = any(depends.get(dep) for deps in depends.values() for dep in deps)
    if len(items) > 10 or chained:
        return Complexity.HIGH
    if len(items) > 3 or any(depends.values()):
        return Complexity.MEDIUM
    return Complexity.LOW


def release_schema_changes(items: Sequence[ScopeItem]) -> bool:
    """Whether an item's title speaks of a schema change or migration."""
    return any(SCHEMA_HINT.search(item.title) for item in items)


def release_draft(event: ReleaseScoped, change_id: str, requester: str) -> ChangeDraft:
    """The change request of a scoped release: planned from the release's own window, else
    (or when that window ends before it starts) from its start for `DEFAULT_WINDOW`."""
    start: datetime = event.planned_start or event.scoped_at
    end = event.planned_end
    if end is None or end <= start:
        end = start + DEFAULT_WINDOW
    label = event.name or event.release_id
    return ChangeDraft(
        id=change_id,
        title=f"Release {label} {event.version}",
        services=tuple(event.services),
        environment=event.target_environment,
        urgency=Urgency.MEDIUM,
        impact=release_impact(event.items, event.services),
        complexity=release_complexity(event.items),
        schema_changes=release_schema_changes(event.items),
        planned_start=start,
        planned_end=end,
        requested_by=requester,
        team=event.team,
        release_id=event.release_id,
    )
