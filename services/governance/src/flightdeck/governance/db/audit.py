"""The audit trail in the database: serialised appends and a streaming verification."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from flightdeck.governance.db.tables import audit_head, audit_records
from flightdeck.governance.domain.audit import AuditRecord, ChainCheck, chain

Entry = tuple[str, str, str, datetime, str, dict[str, Any]]
"""`(subject, action, actor, at, reason, evidence)`."""

VERIFY_COLUMNS = (
    audit_records.c.seq,
    audit_records.c.subject,
    audit_records.c.action,
    audit_records.c.actor,
    audit_records.c.at,
    audit_records.c.reason,
    audit_records.c.evidence,
    audit_records.c.previous_hash,
    audit_records.c.hash,
)


class AuditLog:
    """Appends inside a unit of work. The head row is locked first (`FOR UPDATE` on
    PostgreSQL; SQLite writers are serialised already), so two transactions can never both
    chain onto the same record."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, entries: Sequence[Entry]) -> list[AuditRecord]:
        """Chain and store `entries` after the current head."""
        if not entries:
            return []
        head = (
            await self._session.execute(
                select(audit_head.c.seq, audit_head.c.hash)
                .where(audit_head.c.id == 1)
                .with_for_update()
            )
        ).one()
        records = chain(head.seq, head.hash, entries)
        await self._session.execute(
            insert(audit_records),
            [
                {
                    "seq": r.seq,
                    "subject": r.subject,
                    "action": r.action,
                    "actor": r.actor,
                    "at": r.at,
                    "reason": r.reason,
                    "evidence": r.evidence,
                    "previous_hash": r.previous_hash,
                    "hash": r.hash,
                }
                for r in records
            ],
        )
        last = records[-1]
        await self._session.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=last.seq, hash=last.hash)
        )
        return records


async def audit_page(
    conn: AsyncConnection, subject: str | None, after: int | None, limit: int
) -> list[AuditRecord]:
    """Records in order, optionally about one subject, after the cursor's sequence number."""
    statement = select(*VERIFY_COLUMNS).order_by(audit_records.c.seq).limit(limit)
    if subject is not None:
        statement = statement.where(audit_records.c.subject == subject)
    if after is not None:
        statement = statement.where(audit_records.c.seq > after)
    return [AuditRecord(*row) for row in await conn.execute(statement)]


async def verify_chain(conn: AsyncConnection, chunk: int = 20_000) -> ChainCheck:
    """Re-compute the chain up to its head, reading records in sequence order in chunks
    (a server-side cursor), and stop at the first break; records after the head are a break
    too. Everything is read in one snapshot (REPEATABLE READ on PostgreSQL; one read
    transaction on SQLite), so appends committed meanwhile are not mistaken for insertions."""
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
    head = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash))).one()
    check = ChainCheck()
    batches = record_batches(conn, head.seq, chunk)
    try:
        async for rows in batches:
            if not all(check.feed(row) for row in rows):
                break
    finally:
        await batches.aclose()  # ends the cursor before the next statement
    beyond = await conn.scalar(
        select(func.count()).select_from(audit_records).where(audit_records.c.seq > head.seq)
    )
    check.finish(head.seq, head.hash, int(beyond or 0))
    return check


def record_batches(
    conn: AsyncConnection, until: int, chunk: int = 20_000
) -> AsyncGenerator[Sequence[Sequence[Any]]]:
    """Records up to `until` in sequence order, `chunk` at a time, with the evidence as its
    stored JSON text."""
    if conn.dialect.name == "postgresql":
        return _postgres_batches(conn, until, chunk)
    return _batches(conn, until, chunk)


def _chain_query(until: int) -> Select[Any]:
    return (
        select(*VERIFY_COLUMNS[:6], cast(audit_records.c.evidence, Text), *VERIFY_COLUMNS[7:])
        .where(audit_records.c.seq <= until)
        .order_by(audit_records.c.seq)
    )


async def _batches(
    conn: AsyncConnection, until: int, chunk: int
) -> AsyncGenerator[Sequence[Sequence[Any]]]:
    result = await conn.stream(_chain_query(until).execution_options(yield_per=chunk))
    try:
        async for rows in result.partitions(chunk):
            yield rows
    finally:
        await result.close()


async def _postgres_batches(
    conn: AsyncConnection, until: int, chunk: int
) -> AsyncGenerator[Sequence[Sequence[Any]]]:
    """The records through asyncpg's own cursor: its rows cost a fraction of SQLAlchemy's,
    which is most of the time of a million-record verification."""
    statement = _chain_query(until).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True}
    )
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    async with driver.transaction():  # cursors live in a transaction (a savepoint if one runs)
        cursor = await driver.cursor(str(statement))
        while rows := await cursor.fetch(chunk):
            yield rows
