"""COPY into a table inside the caller's transaction: how every append-heavy table is written."""

from __future__ import annotations

import functools
import operator
from typing import Any

import msgspec
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession


async def copy_in(db: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY rows (all with the same keys) into a table, inside the session's transaction.

    PostgreSQL's fastest way in (binary, tuples written in groups); each value is encoded once by
    its column's codec, where array parameters had asyncpg inspect every element. Columns left out
    take their defaults (change_seq, change_xid, times). json and jsonb values go as msgspec's bytes.
    """
    if not rows:
        return
    names = tuple(rows[0])
    json = _json_columns(table, names)
    columns = list(zip(*map(operator.itemgetter(*names), rows), strict=True))
    for i, name in enumerate(names):
        if name in json:
            columns[i] = tuple(None if v is None else ENCODE(v) for v in columns[i])
    connection = await (await db.connection()).get_raw_connection()
    await connection.driver_connection.copy_records_to_table(
        table.name, records=list(zip(*columns, strict=True)), columns=names
    )


@functools.cache
def _json_columns(table: Table, names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n for n in names if isinstance(table.c[n].type, postgresql.JSON))  # JSONB too


ENCODE = msgspec.json.encode  # bytes, as the engine's jsonb codec takes them (`database.jsonb_as_bytes`)
