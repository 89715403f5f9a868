"""Fixtures of the governance API tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest


@pytest.fixture
def governance(
    start_service: Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]],
) -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """The governance service with neither broker consumer nor relay (HTTP behaviour only),
    unless asked for."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = {"relay_enabled": False, "consumer_enabled": False, **overrides}
        async with start_service("governance", **settings) as client:
            yield client

    return start
