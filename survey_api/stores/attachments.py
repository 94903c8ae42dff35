"""Files submissions sent (`attachments`): one row per (project, submission, file name), bytes elsewhere."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import ARRAY, Text, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables
from survey_api.stores.exports import Filters, where_records

Attachment = tables.Attachment


async def put(
    db: AsyncSession,
    project_id: uuid.UUID,
    submission_uuid: str,
    *,
    filename: str,
    field: str | None,
    content_type: str,
    size: int,
    sha256: str,
    user_id: uuid.UUID | None,
) -> Attachment:
    """Keep the file's row, or replace the one of the same name (new content, type and size)."""
    values = {
        "field": field,
        "content_type": content_type,
        "size": size,
        "sha256": sha256,
        "created_by": user_id,
        "created_at": func.clock_timestamp(),
    }
    statement = insert(Attachment).values(
        id=uuid.uuid4(), project_id=project_id, submission_uuid=submission_uuid, filename=filename, **values
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Attachment.project_id, Attachment.submission_uuid, Attachment.filename],
        set_={k: getattr(statement.excluded, k) for k in values},
    )
    row = await db.scalar(statement.returning(Attachment), execution_options={"populate_existing": True})
    assert row is not None
    return row


async def one(
    db: AsyncSession, project_id: uuid.UUID, submission_uuid: str, filename: str, *, lock: bool = False
) -> Attachment | None:
    query = select(Attachment).where(
        Attachment.project_id == project_id,
        Attachment.submission_uuid == submission_uuid,
        Attachment.filename == filename,
    )
    return await db.scalar(query.with_for_update() if lock else query)


async def of_record(
    db: AsyncSession, project_id: uuid.UUID, submission_uuid: str, filename: str
) -> Attachment | None:
    """The newest file of that name sent by any submission of the record `submission_uuid` made or
    edited: a record's download links name its first submission, whichever later one sent the file."""
    record_id = (
        select(tables.Submission.record_id)
        .where(tables.Submission.uuid == submission_uuid, tables.Submission.project_id == project_id)
        .scalar_subquery()
    )
    senders = select(tables.Submission.uuid).where(
        tables.Submission.record_id == record_id, tables.Submission.uuid.is_not(None)
    )
    query = (
        select(Attachment)
        .where(
            Attachment.project_id == project_id,
            Attachment.filename == filename,
            Attachment.submission_uuid.in_(senders),
        )
        .order_by(Attachment.created_at.desc())
        .limit(1)
    )
    return await db.scalar(query)


async def listing(
    db: AsyncSession, project_id: uuid.UUID, submission_uuids: Sequence[str]
) -> list[Attachment]:
    """The files of these submissions, by submission and name."""
    if not submission_uuids:
        return []
    query = select(Attachment).where(
        Attachment.project_id == project_id,
        Attachment.submission_uuid == any_(bindparam("uuids", list(submission_uuids), type_=ARRAY(Text))),
    )
    return list(await db.scalars(query.order_by(Attachment.submission_uuid, Attachment.filename)))


async def of_records(
    db: AsyncSession, project_id: uuid.UUID, records: Sequence[tuple[uuid.UUID, str | None]]
) -> dict[uuid.UUID, list[Attachment]]:
    """Record id -> the files sent by the submission that made it or any that edited it (one query)."""
    if not records:
        return {}
    ids = [rid for rid, _ in records]
    made = {s: rid for rid, s in records if s is not None}
    senders = select(tables.Submission.uuid, tables.Submission.record_id).where(
        tables.Submission.project_id == project_id,
        or_(
            tables.Submission.record_id == any_(bindparam("ids", ids, type_=ARRAY(tables.Record.id.type))),
            tables.Submission.uuid == any_(bindparam("made", list(made), type_=ARRAY(Text))),
        ),
    )
    sent = senders.subquery()
    query = (
        select(Attachment, sent.c.record_id)
        .join(sent, sent.c.uuid == Attachment.submission_uuid)
        .where(Attachment.project_id == project_id)
        .order_by(Attachment.created_at)
    )
    found: dict[uuid.UUID, list[Attachment]] = {rid: [] for rid in ids}
    for row, record_id in await db.execute(query):
        owner = made.get(row.submission_uuid, record_id)
        if owner in found:
            found[owner].append(row)
    return found


async def total_size(db: AsyncSession, project_id: uuid.UUID, submission_uuid: str, *, besides: str) -> int:
    """Bytes of the submission's files other than `besides` (the one about to be replaced)."""
    query = select(func.coalesce(func.sum(Attachment.size), 0)).where(
        Attachment.project_id == project_id,
        Attachment.submission_uuid == submission_uuid,
        Attachment.filename != besides,
    )
    return int(await db.scalar(query) or 0)


async def submission(
    db: AsyncSession, project_id: uuid.UUID, submission_uuid: str, *, lock: bool = False
) -> tables.Submission | None:
    """The submission received under that uuid in the project (any outcome); `lock`: files of one
    submission are then taken one after another, so their total is checked against the limit."""
    query = select(tables.Submission).where(
        tables.Submission.project_id == project_id, tables.Submission.uuid == submission_uuid
    )
    return await db.scalar(query.limit(1).with_for_update() if lock else query.limit(1))


async def answers_of(
    db: AsyncSession, project_id: uuid.UUID, submission_uuid: str, *, lock: bool = False
) -> Any:
    """The answers of the record a submission made or edited, or its payload when it made none (None:
    no such submission); `lock` locks the submission as `submission` does."""
    sub = await submission(db, project_id, submission_uuid, lock=lock)
    if sub is None:
        return None
    if sub.record_id is not None:
        answers = await db.scalar(select(tables.Record.answers).where(tables.Record.id == sub.record_id))
        if answers is not None:
            return answers
    return sub.payload


async def for_export(
    db: AsyncSession, project_id: uuid.UUID, form_id: uuid.UUID, filters: Filters, size: int = 500
) -> AsyncIterator[Sequence[Any]]:
    """(submission uuid, file name, sha256, field, record lon, record lat) of every file sent for the
    records an export with `filters` reads, in pages from a server-side cursor."""
    sent = select(tables.Submission.uuid, tables.Submission.record_id).where(
        tables.Submission.project_id == project_id, tables.Submission.record_id.is_not(None)
    )
    sent_q = sent.subquery()
    query = where_records(
        select(
            Attachment.submission_uuid,
            Attachment.filename,
            Attachment.sha256,
            Attachment.field,
            tables.Record.lon,
            tables.Record.lat,
        )
        .join(sent_q, sent_q.c.uuid == Attachment.submission_uuid)
        .join(tables.Record, tables.Record.id == sent_q.c.record_id),
        form_id,
        filters,
    ).where(Attachment.project_id == project_id)
    query = query.order_by(Attachment.submission_uuid, Attachment.filename)
    result = await db.stream(query.execution_options(yield_per=size))
    async for page in result.partitions(size):
        yield page
