"""Many rows in one statement.

On PostgreSQL, rows reach the server by COPY (asyncpg's binary protocol, encoded in C) into a
temporary table, then go on with one INSERT … SELECT that can say ON CONFLICT. Sent as one
JSON document read back with `json_to_recordset()` instead, they cost three times as much to
parse (six with the events' nested data); as one array per column, the driver pays a Python
type check per element.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    any_,
    bindparam,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable

Row = dict[str, Any]

_staging = MetaData()
ORDINAL = "staged_ordinal"
"""The column of a staging table holding each row's place in its batch."""


async def upsert(
    conn: AsyncConnection, table: Table, rows: Sequence[Row]
) -> tuple[Any, list[Row] | None]:
    """An INSERT of `rows` (dicts with the same keys), in their order, that can say ON
    CONFLICT, and the parameters to execute it with (None on PostgreSQL, where the rows are
    staged already: the statement may run later in the same transaction)."""
    if conn.dialect.name != "postgresql":
        return sqlite.insert(table), list(rows)
    names = [str(name) for name in rows[0]]
    stage = staging_table(table)
    await conn.execute(CreateTable(stage, if_not_exists=True))
    await conn.execute(delete(stage))  # when staged before in this transaction
    await copy_rows(conn, stage, rows, names, ordinal=ORDINAL)
    chosen = select(*(stage.c[name] for name in names)).order_by(stage.c[ORDINAL])
    return postgresql.insert(table).from_select(names, chosen), None


async def copy_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Row],
    names: Sequence[str] | None = None,
    *,
    ordinal: str | None = None,
) -> None:
    """PostgreSQL: COPY `rows` into `table` (JSON columns take any JSON-able value); with
    `ordinal`, that column gets each row's place in `rows`."""
    chosen = list(names if names is not None else (str(name) for name in rows[0]))
    as_json = [name for name in chosen if isinstance(table.c[name].type, JSON)]
    plain = [name for name in chosen if name not in as_json]
    # Tuples built by itemgetter, in C; JSON columns serialised after the plain ones.
    take = itemgetter(*plain) if len(plain) > 1 else lambda row: (row[plain[0]],)
    records: list[tuple[Any, ...]] = (
        [(*take(row), *(orjson.dumps(row[name]).decode() for name in as_json)) for row in rows]
        if as_json
        else [take(row) for row in rows]
    )
    columns = [*plain, *as_json]
    if ordinal is not None:
        records = [(*record, n) for n, record in enumerate(records)]
        columns.append(ordinal)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, columns=columns, records=records)


def one_of(conn: AsyncConnection, column: Any, values: Collection[str]) -> Any:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter whatever the
    count (an expanded IN list costs SQLAlchemy milliseconds to render for a batch)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(Text)))
    return column.in_(values)


def staging_table(table: Table) -> Table:
    """The temporary table rows for `table` are staged in: its columns, without
    constraints, and each row's place in the batch; emptied at commit. Created in each
    transaction that needs it, if it does not exist yet: one created by a transaction that
    rolled back is gone."""
    name = f"stage_{table.name}"
    stage = _staging.tables.get(name)
    if stage is None:
        stage = Table(
            name,
            _staging,
            *(Column(column.name, column.type) for column in table.c),
            Column(ORDINAL, Integer),
            prefixes=["TEMPORARY"],
            postgresql_on_commit="DELETE ROWS",
        )
    return stage
