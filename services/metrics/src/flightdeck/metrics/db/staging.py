"""A rebuild's staged projection tables on PostgreSQL: created bare, filled set-based,
indexed after loading (much cheaper than maintaining indexes row by row), then swapped in for
the live tables inside the rebuild's transaction. Readers use the live tables until the
swap commits; the swap itself holds their locks only for that instant."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Index, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, DropTable

from flightdeck.metrics.db.tables import PROJECTIONS

SUFFIX = "_next"


def staged_tables() -> dict[str, Table]:
    """A staged copy (same columns, `<name>_next`) of every projection table, by live name."""
    copies = MetaData()
    return {
        table.name: table.to_metadata(copies, name=table.name + SUFFIX) for table in PROJECTIONS
    }


async def create(conn: AsyncConnection) -> None:
    """Fresh, bare staged tables (no keys, no indexes)."""
    for table in PROJECTIONS:
        staged = table.to_metadata(MetaData(), name=table.name + SUFFIX)
        await conn.execute(DropTable(staged, if_exists=True))
        await conn.execute(
            text(f'CREATE TABLE "{staged.name}" (LIKE "{table.name}" INCLUDING DEFAULTS)')
        )


async def index(conn: AsyncConnection, staged: dict[str, Table], names: Iterable[str]) -> None:
    """Give the named staged tables the primary key and indexes of their live tables, under
    staged names, and analyse them."""
    for name in names:
        live, copy = _live(name), staged[name]
        keys = ", ".join(f'"{column.name}"' for column in live.primary_key.columns)
        await conn.execute(text(f'ALTER TABLE "{copy.name}" ADD PRIMARY KEY ({keys})'))
        for live_index in live.indexes:
            columns = [copy.c[column.name] for column in live_index.columns]
            staged_index = Index(
                live_index.name + SUFFIX if live_index.name else None,
                *columns,
                **live_index.dialect_kwargs,
            )
            await conn.execute(CreateIndex(staged_index))
            copy.indexes.discard(staged_index)
        await conn.execute(text(f'ANALYZE "{copy.name}"'))


async def swap(conn: AsyncConnection) -> None:
    """Replace every live projection table by its staged copy, keys and index names too."""
    for table in PROJECTIONS:
        await conn.execute(DropTable(table))
        await conn.execute(text(f'ALTER TABLE "{table.name}{SUFFIX}" RENAME TO "{table.name}"'))
        await conn.execute(
            text(
                f'ALTER TABLE "{table.name}" RENAME CONSTRAINT '
                f'"{table.name}{SUFFIX}_pkey" TO "{table.name}_pkey"'
            )
        )
        for live_index in table.indexes:
            await conn.execute(
                text(f'ALTER INDEX "{live_index.name}{SUFFIX}" RENAME TO "{live_index.name}"')
            )


def _live(name: str) -> Table:
    return next(table for table in PROJECTIONS if table.name == name)
