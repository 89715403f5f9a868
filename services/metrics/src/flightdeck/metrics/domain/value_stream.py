"""A release's value stream: how long it spent between planned, scoped, change approved,
window opened, deployment started, deployment finished and verified, and across releases the
median of each stage and the bottleneck (the stage with the largest median).

Matching rules:
- planned: the earliest ReleasePlanned (its event time); scoped: the earliest `scoped_at`;
- change approved: the earliest ChangeApproved naming the release (its latest approval's `at`);
- deployment started: the earliest DeploymentStarted of the release to its target environment
  (or `started_at` of such a DeploymentFinished); deployment finished: the latest succeeded
  DeploymentFinished of the release to its target environment (deployments of the release to
  other environments, a staging rehearsal, are not its deployment);
- verified: the latest VerificationPassed naming the release or one of its deployments;
- window opened: on the release's target environment, the earliest window opened at or after
  the milestone before it (approved, else scoped, else planned) and at or before the first
  deployment start; failing that, the latest window opened at or before that start.
A stage whose start or end is unknown has no duration. A milestone reached before the one
before it (a window already open when the change was approved, a verification of an earlier
deployment) is passed as soon as that one is: its stage takes 0 s, never a negative time, and
the stages still add up to the whole stream.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from flightdeck.metrics.domain.instants import SECOND_US

MILESTONES = (
    "planned",
    "scoped",
    "change_approved",
    "window_opened",
    "deployment_started",
    "deployment_finished",
    "verified",
)
PAIRS = tuple(pairwise(MILESTONES))
STAGES = tuple(f"{a}_to_{b}" for a, b in PAIRS)


@dataclass(frozen=True, slots=True)
class Timeline:
    """When each milestone of one release was reached (microseconds), when known."""

    release_id: str
    team: str | None
    reached: dict[str, int | None]

    def passed(self) -> dict[str, int | None]:
        """When each known milestone was passed: when reached, but not before the latest
        known milestone before it."""
        latest: int | None = None
        passed: dict[str, int | None] = {}
        for name in MILESTONES:
            at = self.reached.get(name)
            if at is not None:
                latest = at if latest is None else max(latest, at)
                passed[name] = latest
            else:
                passed[name] = None
        return passed

    def durations(self) -> dict[str, float | None]:
        """Seconds spent in each stage (null when an end is unknown)."""
        passed = self.passed()
        spent: dict[str, float | None] = {}
        for stage, (start, end) in zip(STAGES, PAIRS, strict=True):
            began, ended = passed[start], passed[end]
            spent[stage] = (
                (ended - began) / SECOND_US if began is not None and ended is not None else None
            )
        return spent


def matching_window(
    opens: Sequence[int], after_us: int | None, started_us: int | None
) -> int | None:
    """The opening time of the window a release went through (see the module rules)."""
    if started_us is None:
        return None
    before_start = sorted(o for o in opens if o <= started_us)
    if not before_start:
        return None
    if after_us is not None:
        fitting = [o for o in before_start if o >= after_us]
        if fitting:
            return fitting[0]
    return before_start[-1]


@dataclass(frozen=True, slots=True)
class StageSummary:
    stage: str
    n: int
    median_seconds: float | None


def summarise(timelines: Sequence[Timeline]) -> tuple[list[StageSummary], str | None]:
    """The median of each stage over `timelines`, and the bottleneck stage (or null)."""
    summaries = []
    for stage in STAGES:
        values = [d for t in timelines if (d := t.durations()[stage]) is not None]
        median = float(statistics.median(values)) if values else None
        summaries.append(StageSummary(stage, len(values), median))
    measured = [s for s in summaries if s.median_seconds is not None]
    bottleneck = max(measured, key=lambda s: s.median_seconds or 0.0).stage if measured else None
    return summaries, bottleneck
