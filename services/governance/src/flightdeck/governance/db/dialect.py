"""Statements that differ between PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def insert_ignoring_duplicates(
    db: AsyncSession | AsyncConnection, table: Table, rows: list[dict[str, Any]] | dict[str, Any]
) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` in the dialect of `db`."""
    module: Any = postgresql if _dialect(db) == "postgresql" else sqlite
    return module.insert(table).values(rows).on_conflict_do_nothing()


def upsert_adding(
    db: AsyncSession | AsyncConnection,
    table: Table,
    row: dict[str, Any],
    keys: list[str],
    added: list[str],
) -> Any:
    """Insert `row`, or add its `added` columns to the existing row with the same `keys`."""
    module: Any = postgresql if _dialect(db) == "postgresql" else sqlite
    statement = module.insert(table).values(row)
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + statement.excluded[name] for name in added},
    )


def _dialect(db: AsyncSession | AsyncConnection) -> str:
    if isinstance(db, AsyncSession):
        return db.get_bind().dialect.name
    return db.dialect.name


def affected(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], result).rowcount)
