"""The facts each logged event contributes to the projections.

Input is the event as the log keeps it (type, ce_id, time and the JSON data), so that ingest
and rebuild read events the same way. Output rows are plain dicts named after the columns of
the fact tables; nothing here knows about a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flightdeck.events.catalogue.executor import (
    DeploymentFinished,
    DeploymentStarted,
    WindowOpened,
)
from flightdeck.events.catalogue.governance import ChangeApproved
from flightdeck.events.catalogue.planning import ReleasePlanned, ReleaseScoped
from flightdeck.events.catalogue.validation import (
    HealthCheckFailed,
    ServiceRestored,
    VerificationPassed,
)
from flightdeck.metrics.domain.instants import day_of, parse_us, to_us

Row = dict[str, Any]

RULE_RANKS = {"named": 1, "rollback": 2, "window_24h": 3}
"""Attribution rules in the order they apply: the first one found marks the deployment."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event as the log holds it."""

    event_id: str
    type: str
    time: datetime
    data: dict[str, Any]

    @property
    def time_us(self) -> int:
        """The event time in microseconds."""
        return to_us(self.time)


@dataclass(frozen=True, slots=True)
class Claim:
    """A value (a service's team, an environment's tier) claimed by an event; the claim of
    the latest event (time, then ce_id) wins, whatever order events arrive in."""

    key: str
    value: str
    event_us: int
    event_id: str

    def beats(self, other: Claim) -> bool:
        """Whether this claim wins over `other`."""
        return (self.event_us, self.event_id) > (other.event_us, other.event_id)


@dataclass
class Facts:
    """Rows for each fact table, gathered from a batch of events."""

    deployments: list[Row] = field(default_factory=list)
    failures: list[Row] = field(default_factory=list)
    restorations: list[Row] = field(default_factory=list)
    team_claims: list[Claim] = field(default_factory=list)
    tier_claims: list[Claim] = field(default_factory=list)
    milestones: list[Row] = field(default_factory=list)
    approvals: list[Row] = field(default_factory=list)
    windows: list[Row] = field(default_factory=list)
    starts: list[Row] = field(default_factory=list)
    verifications: list[Row] = field(default_factory=list)

    def latest_deployments(self) -> list[Row]:
        """One row per deployment id: the one from the latest event."""
        return list(_latest(self.deployments, "deployment_id").values())

    def winning_claims(self, claims: Iterable[Claim]) -> dict[str, Claim]:
        """The winning claim per key among `claims`."""
        winners: dict[str, Claim] = {}
        for claim in claims:
            held = winners.get(claim.key)
            if held is None or claim.beats(held):
                winners[claim.key] = claim
        return winners


def first_deployments(deployments: Iterable[Row]) -> list[Row]:
    """The commit lead rows (`commit_leads`) these deployment rows give on their own: each
    (repo, sha, tier) at its earliest succeeded non-rollback deployment among them (finish
    time, then deployment id)."""
    firsts: dict[tuple[str, str, str], Row] = {}
    for row in deployments:
        if not row["succeeded"] or row["is_rollback"]:
            continue  # a rollback deploys no new commits
        finished = row["finished_us"]
        for commit in row["commits"]:
            key = (commit["repo"], commit["sha"], row["environment_tier"])
            held = firsts.get(key)
            if held is not None and (held["deployed_us"], held["deployment_id"]) < (
                finished,
                row["deployment_id"],
            ):
                continue
            merged = commit["merged_us"]
            firsts[key] = {
                "repo": commit["repo"],
                "sha": commit["sha"],
                "environment_tier": row["environment_tier"],
                "deployment_id": row["deployment_id"],
                "service": row["service"],
                "team": row["team"],
                "deployed_us": finished,
                "lead_authored_us": finished - commit["authored_us"],
                "lead_merged_us": None if merged is None else finished - merged,
            }
    return list(firsts.values())


def _latest(rows: list[Row], key: str) -> dict[str, Row]:
    chosen: dict[str, Row] = {}
    for row in rows:
        held = chosen.get(row[key])
        if held is None or (row["event_us"], row["event_id"]) > (
            held["event_us"],
            held["event_id"],
        ):
            chosen[row[key]] = row
    return chosen


def gather(events: Iterable[LoggedEvent]) -> Facts:
    """The facts of `events` (types that feed no projection contribute nothing)."""
    facts = Facts()
    for event in events:
        reader = _READERS.get(event.type)
        if reader is not None:
            reader(event, facts)
    return facts


def _us(value: str | None) -> int | None:
    return parse_us(value) if value else None


def _deployment_finished(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    finished_us = parse_us(data["finished_at"])
    facts.deployments.append(
        {
            "deployment_id": data["deployment_id"],
            "service": data["service"],
            "environment": data["environment"],
            "environment_tier": data["environment_tier"],
            "declared_team": data.get("team") or None,
            "team": data.get("team") or "",
            "outcome": data["outcome"],
            "succeeded": data["outcome"] == "succeeded",
            "is_rollback": bool(data["is_rollback"]),
            "is_unplanned": bool(data["is_unplanned"]),
            "rollback_of": data.get("rollback_of"),
            "release_id": data.get("release_id"),
            "change_id": data.get("change_id"),
            "version": data["version"],
            "source": data["source"],
            "started_us": parse_us(data["started_at"]),
            "finished_us": finished_us,
            "finished_day": day_of(finished_us),
            "failure_rule": None,
            "event_id": event.event_id,
            "event_us": event.time_us,
            "commits": [
                {
                    "deployment_id": data["deployment_id"],
                    "repo": commit["repo"],
                    "sha": commit["sha"],
                    "authored_us": parse_us(commit["authored_at"]),
                    "merged_us": _us(commit.get("merged_at")),
                }
                for commit in data["commits"]
            ],
        }
    )
    if data.get("team"):
        facts.team_claims.append(
            Claim(data["service"], data["team"], event.time_us, event.event_id)
        )
    facts.tier_claims.append(
        Claim(data["environment"], data["environment_tier"], event.time_us, event.event_id)
    )


def _health_check_failed(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    detected_us = parse_us(data["detected_at"])
    named = data.get("deployment_id") or None
    facts.failures.append(
        {
            "failure_id": event.event_id,
            "kind": "health_check",
            "service": data["service"],
            "environment": data["environment"],
            "named_deployment_id": named,
            "deployment_id": named,
            "rule": "named" if named else None,
            "rule_rank": RULE_RANKS["named"] if named else None,
            "check_name": data["check"],
            "severity": data["severity"],
            "detected_us": detected_us,
            "occurred_us": detected_us,
            "recovered_us": None,
            "recovered_by": None,
        }
    )


def _service_restored(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    facts.restorations.append(
        {
            "event_id": event.event_id,
            "failure_id": data["failure_event_id"],
            "service": data["service"],
            "environment": data["environment"],
            "restored_us": parse_us(data["restored_at"]),
            "how": data["how"],
        }
    )


def _release_milestone(milestone: str) -> Callable[[LoggedEvent, Facts], None]:
    def read(event: LoggedEvent, facts: Facts) -> None:
        data = event.data
        at_us = parse_us(data["scoped_at"]) if milestone == "scoped" else event.time_us
        facts.milestones.append(
            {
                "event_id": event.event_id,
                "release_id": data["release_id"],
                "milestone": milestone,
                "at_us": at_us,
                "team": data["team"],
                "target_environment": data["target_environment"],
            }
        )
        facts.team_claims.extend(
            Claim(service, data["team"], event.time_us, event.event_id)
            for service in data["services"]
        )

    return read


def _change_approved(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    if not data.get("release_id"):
        return
    times = [parse_us(approval["at"]) for approval in data["approvals"]]
    facts.approvals.append(
        {
            "event_id": event.event_id,
            "change_id": data["change_id"],
            "release_id": data["release_id"],
            "approved_us": max(times) if times else event.time_us,
        }
    )


def _window_opened(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    facts.windows.append(
        {
            "event_id": event.event_id,
            "window_id": data["window_id"],
            "environment": data["environment"],
            "opens_us": parse_us(data["opens_at"]),
        }
    )


def _deployment_started(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    facts.starts.append(
        {
            "event_id": event.event_id,
            "deployment_id": data["deployment_id"],
            "release_id": data.get("release_id"),
            "started_us": parse_us(data["started_at"]),
            "environment": data["environment"],
        }
    )


def _verification_passed(event: LoggedEvent, facts: Facts) -> None:
    data = event.data
    facts.verifications.append(
        {
            "event_id": event.event_id,
            "deployment_id": data.get("deployment_id"),
            "release_id": data.get("release_id"),
            "passed_us": parse_us(data["passed_at"]),
            "environment": data["environment"],
        }
    )


_READERS: dict[str, Callable[[LoggedEvent, Facts], None]] = {
    DeploymentFinished.ce_type: _deployment_finished,
    HealthCheckFailed.ce_type: _health_check_failed,
    ServiceRestored.ce_type: _service_restored,
    ReleasePlanned.ce_type: _release_milestone("planned"),
    ReleaseScoped.ce_type: _release_milestone("scoped"),
    ChangeApproved.ce_type: _change_approved,
    WindowOpened.ce_type: _window_opened,
    DeploymentStarted.ce_type: _deployment_started,
    VerificationPassed.ce_type: _verification_passed,
}
"""Event types that feed projections; every other type is kept in the log only."""

PROJECTED_TYPES = tuple(_READERS)
"""The types a rebuild reads from the log."""
