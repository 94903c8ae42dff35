"""What an index run reads: only each clean record's point and the few answers its indicators name.

The export's stream (`stores.exports.pages`) reads every column, the whole `answers` jsonb included,
and orders them; an index needs neither, and at a million records that reading was most of its time.
Here PostgreSQL picks the answers out (`answers #> path`, the path a record's own version gives
the field) and sends them as one JSON array per record, decoded a page at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Text, case, cast, func, literal, null, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables

Record = tables.Record

Keys = tuple[str, ...]


class AnswerPath(msgspec.Struct, frozen=True, kw_only=True):
    """Where one field's answer sits in `answers`: keys from the root, per form version."""

    keys: Keys | None
    """In any version not in `by_version`; None: nowhere (a field inside a repeat, say)."""
    by_version: dict[str, Keys | None] = {}


class Page(msgspec.Struct, frozen=True, kw_only=True):
    lons: Sequence[float | None]
    """None where the record has no point."""
    lats: Sequence[float | None]
    answers: list[Sequence[Any]]
    """One column per `AnswerPath` asked for, in that order: the decoded answers, None where absent."""


def _answer(path: AnswerPath) -> ColumnElement[Any]:
    def at(keys: Keys | None) -> ColumnElement[Any]:
        return (
            Record.answers.op("#>", return_type=JSONB)(literal(list(keys), ARRAY(Text)))
            if keys
            else cast(null(), JSONB)
        )

    if not path.by_version:
        return at(path.keys)
    whens = [(Record.form_version == version, at(keys)) for version, keys in path.by_version.items()]
    return case(*whens, else_=at(path.keys))


async def each_page(
    db: AsyncSession,
    form_id: uuid.UUID,
    paths: Sequence[AnswerPath],
    on_page: Callable[[Page], Awaitable[None]],
    size: int = 20_000,
) -> None:
    """The form's clean records (live, nothing to review), about `size` at a time, in no particular
    order, handed to `on_page` as they arrive; memory stays flat whatever the count.

    One `COPY (SELECT ...) TO STDOUT` inside the caller's transaction: each record is one line, the
    JSON array `[lon, lat, answer, ...]`, and a page of lines is decoded by one msgspec call, with no
    Python object per row on the way (a server-side cursor through SQLAlchemy spent 5 µs a row).
    COPY's text format escapes only backslash, newline, carriage return and tab, and JSON text has
    no raw control characters, so doubling back the backslashes restores it. The COPY waits while
    `on_page` runs; an error in it aborts the COPY and comes out here.
    """
    # `[lon,lat,` by hand: float8 to jsonb goes through numeric, PostgreSQL's dearest part of the line
    # (float8's text is its shortest exact form); NaN and infinities, in no area anyway, as null.
    rest = (
        func.concat(",", func.substr(cast(func.jsonb_build_array(*[_answer(p) for p in paths]), Text), 2))
        if paths
        else literal("]")
    )
    row = func.concat("[", _number(Record.lon), ",", _number(Record.lat), rest)
    query = select(row).where(Record.form_id == form_id, Record.merged_into.is_(None), Record.status == "ok")
    connection = await db.connection()
    compiled = query.compile(dialect=connection.dialect)
    args = [compiled.params[name] for name in compiled.positiontup or ()]
    driver = (await connection.get_raw_connection()).driver_connection
    pending = bytearray()
    lines = 0

    async def take(data: bytes) -> None:
        nonlocal lines
        pending.extend(data)
        lines += data.count(b"\n")
        if lines >= size:
            cut = pending.rfind(b"\n") + 1
            page = _page(pending[:cut])
            del pending[:cut]
            lines = 0
            await on_page(page)

    await driver.copy_from_query(compiled.string, *args, output=take)
    if pending:
        await on_page(_page(pending))


_DECODE = msgspec.json.Decoder(list[list[Any]]).decode


def _number(column: ColumnElement[float | None]) -> ColumnElement[str]:
    finite = column.between(-1e308, 1e308)
    return case((finite, cast(column, Text)), else_=literal("null"))


def _page(lines: bytearray) -> Page:
    text = bytes(lines).rstrip(b"\n").replace(b"\\\\", b"\\").replace(b"\n", b",")
    columns = list(zip(*_DECODE(b"[" + text + b"]"), strict=True))
    return Page(lons=columns[0], lats=columns[1], answers=columns[2:])
