"""A hand-computed scenario: 3 services, 2 teams, 10 weeks of production deployments with
rollbacks, a hotfix, health-check failures, a late event and duplicates.

Day 0 is Monday 2026-01-05; the window is [day 0, day 70), ten ISO weeks. Team `payments`
owns `checkout` and `ledger` (from ReleasePlanned; their deployments name no team); team
`search` owns `catalog` (its deployments declare the team). Everything runs in the `prod`
environment (tier production) unless said otherwise.

Deployments (finish time; commits with lead time from authoring; notes):
- C0 checkout day -3: c0 (before the window)
- C1 checkout day 0 10:00: c1 24 h (release rel-1)
- C2 checkout day 2 10:00: c2 12 h, c1 again (counted once) (delivered twice)
- C3 checkout day 9 10:00: c3 2 h
- C4 checkout day 9 12:00: rollback (of C3)
- C5 checkout day 23 10:00: c4 11 h (hotfix: unplanned; merged 2 h before)
- C6 checkout day 30 10:00: c5 48 h (published last: the late event)
- C7 checkout day 44 10:00: c6 24 h
- L1 ledger day 1 09:00: l1 24 h; L2 ledger day 15 09:00: l2 12 h
- L3 ledger day 50: outcome failed; S1 ledger day 3: staging tier, l3
- K1..K5 catalog days 0-4 12:00: k1 6 h, k2 24 h, k3 1 h, k4 2 h, k5 0 h (K1 re-sent under a
  new ce_id)
- K6 catalog day 63 12:00: k6 72 h

Failures: HC1 names C2 (day 2 11:00, restored 11:30); HC2 unnamed on checkout day 9 11:00
(24 h rule → C3; recovered by the rollback C4 at 12:00); HC3 unnamed on checkout day 30
14:00 (24 h rule → C6 once the late C6 arrives; restored 16:00); HC4 names L2 (day 15 10:00,
never recovered); HC5 unnamed on catalog day 65 (no deployment within 24 h; never recovered).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
from flightdeck.events.envelope import Envelope
from flightdeck.events.testing import example

DAY0 = datetime(2026, 1, 5, tzinfo=UTC)
WINDOW = {"from": "2026-01-05T00:00:00Z", "to": "2026-03-16T00:00:00Z"}


def at(day: float, hour: float = 0) -> datetime:
    """Day `day` of the scenario at `hour` UTC."""
    return DAY0 + timedelta(days=day, hours=hour)


def commit(sha: str, authored: datetime, merged: datetime | None = None) -> dict[str, Any]:
    return {"repo": "git@flightdeck/app", "sha": sha, "authored_at": authored, "merged_at": merged}


def finished(
    ident: str,
    service: str,
    when: datetime,
    commits: list[dict[str, Any]],
    *,
    team: str | None = None,
    outcome: str = "succeeded",
    tier: str = "production",
    rollback: bool = False,
    unplanned: bool = False,
    release_id: str | None = None,
    event_id: str | None = None,
) -> Envelope[DeploymentFinished]:
    """A DeploymentFinished published at its finish time."""
    data = example(
        DeploymentFinished,
        deployment_id=ident,
        release_id=release_id,
        change_id=None,
        service=service,
        team=team,
        version="1.0.0",
        environment="prod" if tier == "production" else "stage",
        environment_tier=tier,
        strategy="rolling",
        outcome=outcome,
        is_rollback=rollback,
        is_unplanned=unplanned,
        commits=commits,
        started_at=when - timedelta(minutes=30),
        finished_at=when,
        source="flightdeck",
        rollback_of=None,
        url=None,
    )
    return Envelope(data=data, time=when, **({"id": event_id} if event_id else {}))


def health_failed(
    event_id: str, service: str, when: datetime, deployment_id: str | None = None
) -> Envelope[HealthCheckFailed]:
    data = example(
        HealthCheckFailed,
        deployment_id=deployment_id,
        release_id=None,
        verification_id=None,
        service=service,
        environment="prod",
        check="error_rate",
        observed=0.2,
        threshold=0.05,
        detected_at=when,
        severity="critical",
        rollback_requested=False,
    )
    return Envelope(data=data, id=event_id, time=when)


def restored(failure_id: str, service: str, when: datetime) -> Envelope[ServiceRestored]:
    data = example(
        ServiceRestored,
        service=service,
        environment="prod",
        failure_event_id=failure_id,
        deployment_id=None,
        restored_at=when,
        how="fix_forward",
    )
    return Envelope(data=data, time=when)


def release_events() -> list[Envelope[Any]]:
    """rel-1 of payments: planned day -10, scoped day -5, approved day -2, a window opening
    day -1 08:00 (and an older one, day -20, that the release did not wait for), C1 started
    day 0 09:30, finished 10:00, verified 11:00."""
    services = ["checkout", "ledger"]
    planned = example(
        ReleasePlanned,
        release_id="rel-1",
        services=services,
        team="payments",
        target_environment="prod",
        planned_start=at(0),
        planned_end=at(1),
    )
    scoped = example(
        ReleaseScoped,
        release_id="rel-1",
        services=services,
        team="payments",
        target_environment="prod",
        scoped_at=at(-5),
    )
    approved = example(
        ChangeApproved,
        change_id="chg-1",
        release_id="rel-1",
        approvals=[{"approver": "cab-1", "role": "cab", "at": at(-2)}],
    )
    windows = [
        example(WindowOpened, window_id=f"w-{day}", environment="prod", opens_at=at(day, 8))
        for day in (-20, -1)
    ]
    started = example(
        DeploymentStarted,
        deployment_id="C1",
        release_id="rel-1",
        service="checkout",
        environment="prod",
        started_at=at(0, 9.5),
    )
    verified = example(
        VerificationPassed,
        verification_id="v-1",
        deployment_id="C1",
        release_id=None,
        service="checkout",
        environment="prod",
        passed_at=at(0, 11),
    )
    return [
        Envelope(data=planned, time=at(-10)),
        Envelope(data=scoped, time=at(-5)),
        Envelope(data=approved, time=at(-2)),
        *(Envelope(data=w, time=w.opens_at) for w in windows),
        Envelope(data=started, time=at(0, 9.5)),
        Envelope(data=verified, time=at(0, 11)),
    ]


def events() -> list[Envelope[Any]]:
    """The scenario in publication order: the late C6 comes last, C2 is delivered twice and
    K1 is published again under another ce_id."""
    k1 = finished("K1", "catalog", at(0, 12), [commit("k1", at(0, 6))], team="search")
    c2 = finished("C2", "checkout", at(2, 10), [commit("c2", at(1, 22)), commit("c1", at(-1, 10))])
    ordered: list[Envelope[Any]] = [
        *release_events(),
        finished("C0", "checkout", at(-3, 10), [commit("c0", at(-4))]),
        finished("C1", "checkout", at(0, 10), [commit("c1", at(-1, 10))], release_id="rel-1"),
        k1,
        finished("L1", "ledger", at(1, 9), [commit("l1", at(0, 9))]),
        finished("K2", "catalog", at(1, 12), [commit("k2", at(0, 12))], team="search"),
        c2,
        health_failed("HC1", "checkout", at(2, 11), deployment_id="C2"),
        restored("HC1", "checkout", at(2, 11.5)),
        finished("K3", "catalog", at(2, 12), [commit("k3", at(2, 11))], team="search"),
        finished("S1", "ledger", at(3, 12), [commit("l3", at(3))], tier="staging"),
        finished("K4", "catalog", at(3, 12), [commit("k4", at(3, 10))], team="search"),
        finished("K5", "catalog", at(4, 12), [commit("k5", at(4, 12))], team="search"),
        c2,
        finished("C3", "checkout", at(9, 10), [commit("c3", at(9, 8))]),
        health_failed("HC2", "checkout", at(9, 11)),
        finished("C4", "checkout", at(9, 12), [], rollback=True),
        finished("L2", "ledger", at(15, 9), [commit("l2", at(14, 21))]),
        health_failed("HC4", "ledger", at(15, 10), deployment_id="L2"),
        finished(
            "C5",
            "checkout",
            at(23, 10),
            [commit("c4", at(22, 23), at(23, 8))],
            unplanned=True,
        ),
        health_failed("HC3", "checkout", at(30, 14)),
        restored("HC3", "checkout", at(30, 16)),
        finished("C7", "checkout", at(44, 10), [commit("c6", at(43, 10))]),
        finished("L3", "ledger", at(50), [], outcome="failed"),
        finished("K6", "catalog", at(63, 12), [commit("k6", at(60, 12))], team="search"),
        health_failed("HC5", "catalog", at(65)),
        Envelope(data=k1.data, time=at(0, 12), id="K1-resent"),
        finished("C6", "checkout", at(30, 10), [commit("c5", at(28, 10))]),  # the late event
    ]
    return ordered
