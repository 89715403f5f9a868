"""The metrics service consumes every producer's events topic, a fetched batch at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flightdeck.events.consumer import BatchHandler
from flightdeck.events.envelope import Envelope
from flightdeck.kit.context import ServiceContext
from flightdeck.metrics.service.ingest import ingest


def ingest_batches(context: ServiceContext) -> BatchHandler:
    """The consumer's batch handler: the records of one fetch (all partitions) into the log
    and projections in one transaction.

    Deduplication is by ce_id in the log itself (its unique key), so no inbox is needed;
    records whose data fails their model never get here (the runner dead-letters them).
    """

    async def handle(envelopes: Sequence[Envelope[Any]]) -> None:
        await ingest(context.engine, envelopes, context.clock())

    return handle
