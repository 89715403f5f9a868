"""Scope negotiation: which items to drop first when the release carries too much risk."""

from __future__ import annotations

from dataclasses import dataclass

from flightdeck.planning.domain.dependencies import every_dependants
from flightdeck.planning.domain.model import Item, Release

_NAMED = 5
"""How many dependants a reason names (`dependants` lists them all)."""


@dataclass(frozen=True)
class Candidate:
    """An item proposed for removal, its rank (1 = drop first) and why."""

    rank: int
    item: Item
    dependants: tuple[str, ...]
    reason: str


def proposal(release: Release) -> list[Candidate]:
    """Every item, ranked for removal: non-regulatory before regulatory, then lower priority
    (5 before 1), then items nothing depends on, then more commits (more risk), then title
    and id, so the ranking is deterministic."""
    graph = {item.id: item.depends_on for item in release.items}
    dependants = {node: tuple(sorted(found)) for node, found in every_dependants(graph).items()}

    def key(item: Item) -> tuple[bool, int, bool, int, str, str]:
        return (
            item.regulatory,
            -item.priority,
            bool(dependants[item.id]),
            -len(item.commits),
            item.title.casefold(),
            item.id,
        )

    ranked = sorted(release.items, key=key)
    return [
        Candidate(rank, item, dependants[item.id], _reason(item, dependants[item.id]))
        for rank, item in enumerate(ranked, start=1)
    ]


def _reason(item: Item, dependants: tuple[str, ...]) -> str:
    parts = [f"priority {item.priority} of 5 (1 is highest)"]
    if dependants:
        named = ", ".join(dependants[:_NAMED])
        more = f" and {len(dependants) - _NAMED} more" if len(dependants) > _NAMED else ""
        parts.append(f"{len(dependants)} item(s) depend on it and go with it ({named}{more})")
    else:
        parts.append("nothing depends on it")
    count = len(item.commits)
    parts.append(f"{count} commit{'s' if count != 1 else ''} of change risk")
    if item.regulatory:
        parts.append("regulatory, so proposed only after every other item")
    return "; ".join(parts)
