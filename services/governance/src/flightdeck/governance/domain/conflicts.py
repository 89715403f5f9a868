"""Conflicts: changes overlapping in time on the same service or environment, and changes
planned inside a blackout."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flightdeck.governance.domain.calendar import Blackout, blackouts_touching
from flightdeck.governance.domain.model import ChangeRequest


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why a change clashes with another change or a blackout period."""

    kind: str
    """`change` or `blackout`."""
    id: str
    reason: str
    starts_at: datetime
    ends_at: datetime


def _overlap(a: ChangeRequest, b: ChangeRequest) -> bool:
    return a.planned_start < b.planned_end and b.planned_start < a.planned_end


def conflicts_of(
    change: ChangeRequest, others: Iterable[ChangeRequest], blackouts: Iterable[Blackout]
) -> list[Conflict]:
    """Every clash of `change` with the other open changes and the blackout calendar."""
    found = []
    for other in others:
        if other.id == change.id or not _overlap(change, other):
            continue
        shared = sorted(set(change.services) & set(other.services))
        reasons = [f"same service {', '.join(shared)}"] if shared else []
        if other.environment == change.environment:
            reasons.append(f"same environment {change.environment}")
        if reasons:
            found.append(
                Conflict(
                    "change", other.id, "; ".join(reasons), other.planned_start, other.planned_end
                )
            )
    for period in blackouts_touching(
        blackouts, change.services, change.team, change.planned_start, change.planned_end
    ):
        found.append(
            Conflict(
                "blackout",
                period.blackout.id,
                f"inside blackout {period.blackout.name}",
                period.starts_at,
                period.ends_at,
            )
        )
    return found
