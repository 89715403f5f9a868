"""Small kit pieces: If-Match, cursors, JSON log lines, retry delays, topic names."""

from __future__ import annotations

import gc
import io
import json
import logging
from datetime import UTC, datetime

import pytest

from flightdeck.events import logcontext
from flightdeck.events.consumer import RetryPolicy
from flightdeck.events.topics import Topics
from flightdeck.kit.app import GC_THRESHOLDS, heap_frozen
from flightdeck.kit.logs import JsonFormatter
from flightdeck.kit.pagination import decode_cursor, encode_cursor
from flightdeck.kit.problems import Problem
from flightdeck.kit.versioning import check_if_match, etag


def test_if_match() -> None:
    check_if_match(None, 3)
    check_if_match(etag(3), 3)
    check_if_match('"2", "3"', 3)
    check_if_match("*", 9)
    with pytest.raises(Problem) as weak:
        check_if_match('W/"3"', 3)  # If-Match compares strongly
    assert weak.value.status == 412
    with pytest.raises(Problem) as stale:
        check_if_match('"2"', 3)
    assert stale.value.status == 412
    assert stale.value.extensions["current_version"] == 3
    with pytest.raises(Problem) as missing:
        check_if_match(None, 3, required=True)
    assert missing.value.status == 428


def test_cursors_round_trip_and_reject_garbage() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    cursor = encode_cursor(moment.isoformat(), "rel-1", 4)
    assert decode_cursor(cursor, datetime, str, int) == [moment, "rel-1", 4]
    assert decode_cursor(None, datetime, str, int) is None
    forged = [
        "!!!",
        encode_cursor("only-one"),
        encode_cursor({"$gt": 1}, "rel-1", 4),
        encode_cursor("not-a-date", "rel-1", 4),
        encode_cursor("2026-03-01T00:00:00", "rel-1", 4),
        encode_cursor(moment.isoformat(), 5, 4),
        encode_cursor(moment.isoformat(), "rel-1", True),
    ]
    for bad in forged:
        with pytest.raises(Problem) as error:
            decode_cursor(bad, datetime, str, int)
        assert error.value.status == 422


def test_log_lines_are_json_with_context() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("planning"))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.propagate = False
    with logcontext.bound(event_id="e-1", correlation_id="rel-1", trace_id="a" * 32):
        logger.warning("handled %s", "it", extra={"attempt": 2})
    line = json.loads(stream.getvalue())
    assert line["msg"] == "handled it"
    assert line["service"] == "planning"
    assert line["level"] == "warning"
    assert (line["event_id"], line["correlation_id"], line["trace_id"]) == (
        "e-1",
        "rel-1",
        "a" * 32,
    )
    assert line["attempt"] == 2


def test_retry_backoff_grows_and_caps() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_base=0.2, backoff_max=1.0)
    assert [policy.delay(n) for n in range(1, 5)] == [0.2, 0.4, 0.8, 1.0]


def test_topic_names_and_prefix() -> None:
    topics = Topics("staging.")
    assert topics.events("planning") == "staging.flightdeck.planning.events"
    assert topics.dlq("metrics") == "staging.flightdeck.metrics.dlq"
    assert topics.logical("staging.flightdeck.planning.events") == "flightdeck.planning.events"
    assert "staging.flightdeck.executor.events" in topics.all_topics()


def test_problem_helpers_render_rfc9457_documents() -> None:
    from flightdeck.kit.pagination import check_limit
    from flightdeck.kit.problems import Violation, conflict, invalid, not_found, rules_violated

    missing = not_found("release", "rel-9").body("/releases/rel-9")
    assert missing == {
        "type": "https://flightdeck.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "release rel-9 does not exist",
        "instance": "/releases/rel-9",
    }
    refused = rules_violated(
        "scope cannot be frozen",
        [Violation("rollback_criteria", "none defined"), Violation("signoff.qa", "missing")],
    ).body()
    assert refused["status"] == 409
    assert refused["violations"] == [
        {"rule": "rollback_criteria", "detail": "none defined"},
        {"rule": "signoff.qa", "detail": "missing"},
    ]
    assert (
        conflict("already scoped", slug="release-scoped").body()["type"].endswith("release-scoped")
    )
    assert (
        invalid("bad", [{"location": "body.x", "message": "no"}]).body()["errors"][0]["location"]
        == "body.x"
    )
    assert check_limit(50) == 50
    for limit in (0, 501):
        with pytest.raises(Problem):
            check_limit(limit)


def test_a_running_service_collects_less_often_and_restores_the_collector_after() -> None:
    before = gc.get_threshold()
    assert before != GC_THRESHOLDS
    kept: list[object] = []  # a list: an object the collector tracks, on the heap before
    with heap_frozen():
        assert gc.get_threshold() == GC_THRESHOLDS
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of sight
    assert gc.get_threshold() == before
    assert any(o is kept for o in gc.get_objects())
