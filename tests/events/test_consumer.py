"""The consumer runner on its own: stopping mid-batch keeps what was done."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flightdeck.events.catalogue import ReleasePlanned
from flightdeck.events.consumer import ConsumerRunner
from flightdeck.events.envelope import Envelope
from flightdeck.events.kafka import KafkaSettings
from flightdeck.events.testing import eventually, example, publish
from flightdeck.events.topics import events_topic


async def test_stop_finishes_the_record_in_hand_and_commits_what_was_done(
    kafka: KafkaSettings,
) -> None:
    events = [Envelope(data=example(ReleasePlanned, release_id=f"rel-{n}")) for n in range(60)]
    await publish(kafka, *events)
    handled: list[str] = []

    async def slow(envelope: Envelope[Any]) -> None:
        await asyncio.sleep(0.05)
        handled.append(envelope.id)

    first = ConsumerRunner(kafka, group="stopper", topics=[events_topic("planning")], handle=slow)
    task = asyncio.create_task(first.run())
    await eventually(lambda: len(handled) >= 5, timeout=20)
    started = time.monotonic()
    first.stop()
    await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 2, "stop waited for the whole batch"
    done_before_stop = list(handled)
    assert len(done_before_stop) < len(events)

    rest: list[str] = []

    async def record(envelope: Envelope[Any]) -> None:
        rest.append(envelope.id)

    second = ConsumerRunner(
        kafka, group="stopper", topics=[events_topic("planning")], handle=record
    )
    task = asyncio.create_task(second.run())
    await eventually(lambda: len(done_before_stop) + len(rest) >= len(events), timeout=30)
    second.stop()
    await asyncio.wait_for(task, 10)
    assert set(done_before_stop) | set(rest) == {e.id for e in events}
    assert not set(done_before_stop) & set(rest), "committed work was delivered again"


async def test_a_record_with_a_null_type_header_is_dead_lettered_not_stuck(
    kafka: KafkaSettings,
) -> None:
    from flightdeck.events.deadletters import read_dead_letters
    from flightdeck.events.testing import publish_raw

    handled: list[str] = []

    async def record(envelope: Envelope[Any]) -> None:
        handled.append(envelope.id)

    await publish_raw(
        kafka, events_topic("planning"), b"{}", [("ce_type", None), ("ce_id", b"n-1")]
    )  # type: ignore[list-item]
    good = Envelope(data=example(ReleasePlanned))
    await publish(kafka, good)
    runner = ConsumerRunner(
        kafka,
        group="nulls",
        topics=[events_topic("planning")],
        handle=record,
        accepts={ReleasePlanned.ce_type},
    )
    task = asyncio.create_task(runner.run())
    await eventually(lambda: good.id in handled, timeout=20)
    runner.stop()
    await asyncio.wait_for(task, 10)
    letters = await read_dead_letters(kafka, "nulls")
    assert [letter.event_id for letter in letters] == ["n-1"]


def test_which_errors_are_waited_out() -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from flightdeck.events.retry import is_transient

    def sqlite_error(name: str) -> Exception:
        error = sqlite3.OperationalError(name)
        error.sqlite_errorname = name  # type: ignore[attr-defined]
        return OperationalError("stmt", {}, error)

    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    assert is_transient(sqlite_error("SQLITE_BUSY"))
    assert is_transient(sqlite_error("SQLITE_IOERR_WRITE"))
    assert not is_transient(sqlite_error("SQLITE_ERROR"))  # no such column, syntax error
    assert is_transient(OperationalError("stmt", {}, PgError("53300")))  # too many connections
    assert is_transient(OperationalError("stmt", {}, PgError("40P01")))  # deadlock
    assert is_transient(OperationalError("stmt", {}, PgError("55P03")))  # lock not available
    assert not is_transient(ProgrammingError("stmt", {}, PgError("42703")))  # undefined column
    assert is_transient(ConnectionResetError())
    assert not is_transient(FileNotFoundError())
    assert not is_transient(ValueError("bad event"))
