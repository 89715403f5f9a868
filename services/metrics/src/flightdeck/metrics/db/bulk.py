"""Many rows in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Table, Text, bindparam, cast, column, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]


def upsert(
    conn: AsyncConnection, table: Table, rows: Sequence[Row]
) -> tuple[Any, list[Row] | None]:
    """An INSERT of `rows` (dicts with the same keys) that can say ON CONFLICT, and the
    parameters to execute it with.

    On PostgreSQL the rows travel as one JSON document (serialised by orjson), read back
    with `json_to_recordset()` into the columns' types: one statement with one parameter
    whatever the batch size. A VALUES list would make PostgreSQL parse thousands of
    placeholders; one array per column costs the driver a type check per element."""
    if conn.dialect.name != "postgresql":
        return sqlite.insert(table), list(rows)
    names = list(rows[0])
    # Column names may be `quoted_name`s, a str subclass orjson takes only with this option.
    text = orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
    document = bindparam("rows", text, type_=Text)
    source = (
        func.json_to_recordset(cast(document, JSON))
        .table_valued(*(column(name, table.c[name].type) for name in names))
        .render_derived(with_types=True)
    )
    return postgresql.insert(table).from_select(names, select(*source.c)), None
