"""The audit hash chain detects edited, removed and truncated records."""

from __future__ import annotations

import itertools
from dataclasses import astuple, replace
from datetime import UTC, datetime, timedelta

from flightdeck.governance.domain.audit import GENESIS, AuditRecord, ChainCheck, chain

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _records(count: int) -> list[AuditRecord]:
    entries = [
        ("chg-1", "approval", f"user{n}", T0 + timedelta(minutes=n), "ok", {"n": n, "b": [1, 2]})
        for n in range(count)
    ]
    return chain(0, GENESIS, entries)


def _verify(records: list[AuditRecord], head: AuditRecord | None = None) -> ChainCheck:
    check = ChainCheck()
    for record in records:
        if not check.feed(astuple(record)):
            break
    last = head or records[-1]
    check.finish(last.seq, last.hash)
    return check


def test_an_intact_chain_verifies() -> None:
    records = _records(5)
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].previous_hash == GENESIS
    assert all(b.previous_hash == a.hash for a, b in itertools.pairwise(records))
    check = _verify(records)
    assert (check.broken_at, check.checked) == (None, 5)


def test_continuing_a_chain_links_to_its_head() -> None:
    first = _records(2)
    more = chain(2, first[-1].hash, [("p", "policy-change", "root", T0, "why", {})])
    assert more[0].seq == 3
    assert more[0].previous_hash == first[-1].hash
    assert _verify([*first, *more]).broken_at is None


def test_an_edited_record_is_found() -> None:
    records = _records(5)
    records[2] = replace(records[2], reason="nothing to see")
    check = _verify(records)
    assert check.broken_at == 3
    assert "edited" in (check.problem or "")


def test_a_removed_record_is_found() -> None:
    records = _records(5)
    del records[1]
    assert _verify(records).broken_at == 2


def test_removing_the_newest_records_is_found_by_the_head() -> None:
    records = _records(5)
    check = _verify(records[:3], head=records[-1])
    assert check.broken_at == 4


def test_evidence_key_order_does_not_matter() -> None:
    [one] = chain(0, GENESIS, [("s", "a", "x", T0, "r", {"b": 1, "a": 2})])
    [two] = chain(0, GENESIS, [("s", "a", "x", T0, "r", {"a": 2, "b": 1})])
    assert one.hash == two.hash


def test_reordered_records_are_found() -> None:
    records = _records(5)
    second, third = records[1], records[2]
    swapped = [records[0], replace(third, seq=2), replace(second, seq=3), *records[3:]]
    check = _verify(swapped)
    assert check.broken_at == 2
    assert "previous_hash" in (check.problem or "")


def test_records_after_the_head_are_found() -> None:
    records = _records(4)
    check = _verify(records[:3], head=records[2])
    assert check.broken_at is None
    check.finish(records[2].seq, records[2].hash, beyond=1)
    assert check.broken_at == 4
    assert "after the head" in (check.problem or "")
