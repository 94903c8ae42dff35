"""What publish reads from the survey database: a form's records changed after a watermark."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables
from survey_api.stores.exports import READ
from survey_api.stores.records import VISIBLE_BELOW_XMIN

SOURCE_COLUMNS = (*READ, tables.Record.merged_into, tables.Record.change_xid, tables.Record.change_seq)
"""The export's row of a record, then what publish needs besides: merged_into and its change cursor."""


def _changed(form_id: Any, after: tuple[int, int]) -> Any:
    record = tables.Record
    return (
        record.form_id == form_id,
        tuple_(record.change_xid, record.change_seq) > tuple_(*after),
        VISIBLE_BELOW_XMIN,
    )


async def count_changed(db: AsyncSession, form_id: Any, after: tuple[int, int]) -> int:
    return (
        await db.scalar(select(func.count()).select_from(tables.Record).where(*_changed(form_id, after))) or 0
    )


async def last_changed(db: AsyncSession, form_id: Any, after: tuple[int, int]) -> tuple[int, int]:
    """The cursor of the form's last record changed after `after` (`after` when none was)."""
    record = tables.Record
    row = (
        await db.execute(
            select(record.change_xid, record.change_seq)
            .where(*_changed(form_id, after))
            .order_by(record.change_xid.desc(), record.change_seq.desc())
            .limit(1)
        )
    ).first()
    return after if row is None else (row[0], row[1])


async def changed_pages(
    db: AsyncSession,
    form_id: Any,
    after: tuple[int, int],
    size: int = 2000,
    upto: tuple[int, int] | None = None,
    also: str | None = None,
) -> AsyncIterator[Sequence[Any]]:
    """The form's records changed after the cursor (SOURCE_COLUMNS), in change order, from transactions
    that have all ended (as the change feed reads them: a change may come late, never be skipped)."""
    record = tables.Record
    query = (
        select(*SOURCE_COLUMNS)
        .outerjoin(tables.User, tables.User.id == record.created_by)
        .where(*_changed(form_id, after))
        .order_by(record.change_xid, record.change_seq)
    )
    if upto is not None:  # and, where `also` says, only some of them (SQL on `records`)
        query = query.where(tuple_(record.change_xid, record.change_seq) <= tuple_(*upto))
    if also is not None:
        query = query.where(text(also))
    result = await db.stream(query.execution_options(yield_per=size))
    async for page in result.partitions(size):
        yield page
