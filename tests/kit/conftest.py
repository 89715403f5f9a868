"""Fixtures for the kit's tests: the sample service on a fresh database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from flightdeck.events.kafka import KafkaSettings
from flightdeck.kit.testing import TestDatabases, Tokens, running, test_settings
from tests.kit import sample


@pytest.fixture
def start_sample(
    databases: TestDatabases, kafka: KafkaSettings, tokens: Tokens, tmp_path: Path
) -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start the sample service: `async with start_sample() as client`."""

    @contextlib.asynccontextmanager
    async def start(
        *,
        database_url: str | None = None,
        kafka_settings: KafkaSettings | None = None,
        **overrides: Any,
    ) -> AsyncIterator[httpx.AsyncClient]:
        url = database_url or await databases.create("sample", metadata=[sample.metadata])
        settings = test_settings(
            sample.SampleSettings,
            database_url=url,
            kafka=kafka_settings or kafka,
            tokens_file=tokens.path,
            var_dir=tmp_path,
            **overrides,
        )
        app = sample.create_app(settings)
        async with running(app, base_url="http://sample") as client:
            client.app = app  # type: ignore[attr-defined]
            client.database_url = url  # type: ignore[attr-defined]
            yield client

    return start
