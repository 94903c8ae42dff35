"""COPY into a table inside the caller's transaction: how every append-heavy table is written."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import msgspec
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession


async def copy_in(db: AsyncSession, table: Table, rows: Sequence[msgspec.Struct]) -> None:
    """COPY rows of one Struct type into a table, inside the session's transaction.

    The Struct's fields name the columns; rows become tuples only here. PostgreSQL's fastest way in
    (binary, tuples written in groups); each value is encoded once by its column's codec, where array
    parameters had asyncpg inspect every element. Columns the type leaves out take their defaults
    (change_seq, change_xid, times). json and jsonb values go as msgspec's bytes.
    """
    if not rows:
        return
    names = type(rows[0]).__struct_fields__
    records = list(map(msgspec.structs.astuple, rows))
    if json := _json_positions(table, names):
        columns = list(zip(*records, strict=True))
        for i in json:
            columns[i] = tuple(None if v is None else ENCODE(v) for v in columns[i])
        records = list(zip(*columns, strict=True))
    connection = await (await db.connection()).get_raw_connection()
    await connection.driver_connection.copy_records_to_table(table.name, records=records, columns=names)


@functools.cache
def _json_positions(table: Table, names: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(i for i, n in enumerate(names) if isinstance(table.c[n].type, postgresql.JSON))  # JSONB too


ENCODE = msgspec.json.encode  # bytes, as the engine's jsonb codec takes them (`db.engine.jsonb_as_bytes`)
