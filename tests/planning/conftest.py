"""Fixtures of the planning tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from flightdeck.kit.testing import Tokens
from tests.planning.integration.support import Planning


@pytest.fixture
async def api(
    start_service: Callable[..., contextlib.AbstractAsyncContextManager[Any]], tokens: Tokens
) -> AsyncIterator[Planning]:
    """The planning API on a fresh database (each backend), without relay or consumer: what a
    request published stays in the outbox for the test to read."""
    async with start_service("planning", relay_enabled=False, consumer_enabled=False) as client:
        yield Planning(client, tokens)
