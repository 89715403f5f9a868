"""Webhook signatures and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import httpx

from flightdeck.governance.db.webhooks import Delivery
from flightdeck.governance.domain.webhooks import RetryPolicy, signature
from flightdeck.governance.service.webhooks import attempt

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_signature_is_the_hmac_of_the_body() -> None:
    body = b'{"type":"flightdeck.change.closed.v1"}'
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signature("secret", body) == f"sha256={expected}"
    assert signature("other", body) != signature("secret", body)


def test_backoff_doubles_up_to_its_cap() -> None:
    retry = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(seconds=30))
    delays = [retry.next_attempt(n, T0) - T0 for n in range(1, 7)]
    assert [d.total_seconds() for d in delays] == [2, 4, 8, 16, 30, 30]


def test_deliveries_are_abandoned_after_attempts_or_age() -> None:
    retry = RetryPolicy(max_attempts=3, max_age=timedelta(hours=1))
    assert not retry.gives_up(2, T0, T0 + timedelta(minutes=5))
    assert retry.gives_up(3, T0, T0 + timedelta(minutes=5))
    assert retry.gives_up(1, T0, T0 + timedelta(hours=1))


def test_an_attempt_settles_the_delivery() -> None:
    retry = RetryPolicy(base=timedelta(seconds=1), max_attempts=2)
    later = T0 + timedelta(seconds=5)
    assert retry.settle(1, True, T0, later).delivered_at == later
    again = retry.settle(1, False, T0, later)
    assert again.next_attempt_at == later + timedelta(seconds=1)
    assert again.delivered_at is None
    assert retry.settle(2, False, T0, later).abandoned_at == later


async def test_a_receiver_that_breaks_the_client_is_one_failed_attempt() -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise UnicodeError(f"cannot encode {request.url.host}")

    delivery = Delivery("d1", "https://itsm.example/hook", "s" * 16, "t", b"{}", 0, T0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(explode)) as client:
        status, error = await attempt(client, delivery)
    assert status is None
    assert str(error).startswith("UnicodeError: cannot encode")
