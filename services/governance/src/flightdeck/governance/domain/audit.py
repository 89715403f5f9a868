"""The audit trail's hash chain: each record's SHA-256 covers its canonical JSON (sorted keys,
UTC times) and the previous record's hash, so an edited, inserted or deleted record breaks it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS = "0" * 64
"""The `previous_hash` of the first record."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One appended decision."""

    seq: int
    subject: str
    action: str
    actor: str
    at: datetime
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    previous_hash: str = GENESIS
    hash: str = ""


def canonical(
    seq: int,
    subject: str,
    action: str,
    actor: str,
    at: datetime,
    reason: str,
    evidence: Any,
    previous_hash: str,
) -> bytes:
    """The bytes a record's hash covers. `evidence` is a JSON object, or its canonical text
    as stored (sorted keys, compact), which is embedded as it is."""
    if isinstance(evidence, str):
        evidence = orjson.Fragment(evidence)
    return orjson.dumps(
        {
            "seq": seq,
            "subject": subject,
            "action": action,
            "actor": actor,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "reason": reason,
            "evidence": evidence,
            "previous_hash": previous_hash,
        },
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )


def record_hash(*parts: Any) -> str:
    """SHA-256 (hex) of the canonical form of a record (the arguments of `canonical`)."""
    return hashlib.sha256(canonical(*parts)).hexdigest()


def chain(
    previous_seq: int,
    previous_hash: str,
    entries: Iterable[tuple[str, str, str, datetime, str, dict[str, Any]]],
) -> list[AuditRecord]:
    """Records for `(subject, action, actor, at, reason, evidence)` entries appended after the
    record `previous_seq` with hash `previous_hash`."""
    records = []
    seq, previous = previous_seq, previous_hash
    for subject, action, actor, at, reason, evidence in entries:
        seq += 1
        # Sorted once here, so the stored JSON text is the canonical form itself.
        evidence = orjson.loads(orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS))
        digest = record_hash(seq, subject, action, actor, at, reason, evidence, previous)
        records.append(
            AuditRecord(seq, subject, action, actor, at, reason, evidence, previous, digest)
        )
        previous = digest
    return records


@dataclass(slots=True)
class ChainCheck:
    """Verifies records fed in order; the first break is kept."""

    expected_seq: int = 1
    previous_hash: str = GENESIS
    checked: int = 0
    broken_at: int | None = None
    problem: str | None = None

    def feed(self, row: Sequence[Any]) -> bool:
        """Check one stored row `(seq, subject, action, actor, at, reason, evidence,
        previous_hash, hash)`; False once the chain is broken."""
        seq, subject, action, actor, at, reason, evidence, previous, stored = row
        self.checked += 1
        if seq != self.expected_seq:
            return self._broken(self.expected_seq, f"record {self.expected_seq} is missing")
        if previous != self.previous_hash:
            return self._broken(seq, "its previous_hash does not match the record before")
        digest = hashlib.sha256(
            canonical(seq, subject, action, actor, at, reason, evidence, previous)
        ).hexdigest()
        if digest != stored:
            return self._broken(seq, "its content does not match its hash (edited)")
        self.expected_seq, self.previous_hash = seq + 1, stored
        return True

    def finish(self, head_seq: int, head_hash: str, beyond: int = 0) -> None:
        """Compare the end of the chain with the recorded head (catches deleted last records),
        and count the `beyond` records stored after the head as a break (inserted records)."""
        if self.broken_at is not None:
            return
        if head_seq != self.expected_seq - 1 or head_hash != self.previous_hash:
            self._broken(self.expected_seq, f"the chain ends before its head (record {head_seq})")
        elif beyond:
            self._broken(head_seq + 1, f"{beyond} record(s) stored after the head (inserted)")

    def _broken(self, seq: int, problem: str) -> bool:
        self.broken_at, self.problem = seq, problem
        return False
