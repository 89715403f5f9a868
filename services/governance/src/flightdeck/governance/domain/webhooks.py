"""Outbound webhooks: the signature receivers check and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flightdeck.events.catalogue.governance import (
    ChangeApproved,
    ChangeClosed,
    ChangeEscalated,
    ChangeRejected,
    ChangeRequested,
)

SIGNATURE_HEADER = "X-Flightdeck-Signature"
STATE_CHANGED = "flightdeck.change.state_changed.v1"
"""Webhook-only type sent on every state transition (the other types are the events)."""
EVENT_TYPES = frozenset(
    {
        ChangeRequested.ce_type,
        ChangeApproved.ce_type,
        ChangeRejected.ce_type,
        ChangeEscalated.ce_type,
        ChangeClosed.ce_type,
        STATE_CHANGED,
    }
)
"""What a subscription may ask for."""


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with a cap, and when to give up."""

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    max_attempts: int = 12
    max_age: timedelta = timedelta(hours=24)

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """When to try again after `attempts` failed attempts."""
        delay: timedelta = min(self.cap, self.base * (2 ** max(attempts - 1, 0)))
        return now + delay

    def gives_up(self, attempts: int, created_at: datetime, now: datetime) -> bool:
        """Whether a delivery that failed `attempts` times is abandoned."""
        return attempts >= self.max_attempts or now - created_at >= self.max_age

    def settle(
        self, attempts: int, succeeded: bool, created_at: datetime, now: datetime
    ) -> Settled:
        """What becomes of a delivery after its `attempts`-th attempt."""
        if succeeded:
            return Settled(delivered_at=now)
        if self.gives_up(attempts, created_at, now):
            return Settled(abandoned_at=now)
        return Settled(next_attempt_at=self.next_attempt(attempts, now))


@dataclass(frozen=True, slots=True)
class Settled:
    """A delivery is delivered, abandoned, or tried again at `next_attempt_at`."""

    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    abandoned_at: datetime | None = None
