"""Reading records, their history, the change feed, conflicts and the quarantine."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables

VISIBLE_BELOW_XMIN = text(
    "(records.change_xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    " OR records.change_xid = coalesce(pg_current_xact_id_if_assigned()::text::bigint, -1))"
)


async def changes(
    db: AsyncSession, project_id: uuid.UUID, form_key: str | None, after: tuple[int, int], limit: int
) -> list[tuple[tables.Record, str]]:
    """Records changed after the cursor, in change order, only from transactions that have all ended.

    Sequence numbers are taken before commit, so a later-committing transaction can hold a lower one;
    reading only below the oldest running transaction means a change can arrive late, never be skipped.
    """
    query = (
        select(tables.Record, tables.Form.key)
        .join(tables.Form, tables.Form.id == tables.Record.form_id)
        .where(
            tables.Record.project_id == project_id,
            tuple_(tables.Record.change_xid, tables.Record.change_seq) > tuple_(*after),
            VISIBLE_BELOW_XMIN,
        )
        .order_by(tables.Record.change_xid, tables.Record.change_seq)
        .limit(limit)
    )
    if form_key is not None:
        query = query.where(tables.Form.key == form_key)
    return [(r, k) for r, k in await db.execute(query)]


async def page(
    db: AsyncSession,
    form_id: uuid.UUID,
    *,
    status: str | None,
    since: datetime | None,
    bbox: tuple[float, float, float, float] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tables.Record]:
    query = select(tables.Record).where(tables.Record.form_id == form_id)
    if status == "merged":
        query = query.where(tables.Record.merged_into.is_not(None))
    elif status is not None:
        query = query.where(tables.Record.status == status, tables.Record.merged_into.is_(None))
    if since is not None:
        query = query.where(tables.Record.updated_at >= since)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(
            tables.Record.lon.between(min_lon, max_lon), tables.Record.lat.between(min_lat, max_lat)
        )
    if after is not None:
        query = query.where(tuple_(tables.Record.created_at, tables.Record.id) > tuple_(*after))
    rows = await db.scalars(query.order_by(tables.Record.created_at, tables.Record.id).limit(limit))
    return list(rows)


async def one(
    db: AsyncSession, project_id: uuid.UUID, record_id: uuid.UUID, *, lock: bool = False
) -> tuple[tables.Record, str] | None:
    query = (
        select(tables.Record, tables.Form.key)
        .join(tables.Form, tables.Form.id == tables.Record.form_id)
        .where(tables.Record.id == record_id, tables.Record.project_id == project_id)
    )
    if lock:
        query = query.with_for_update(of=tables.Record)
    found = (await db.execute(query)).first()
    return (found[0], found[1]) if found else None


async def history(db: AsyncSession, record: tables.Record) -> list[tables.RecordRevision]:
    """A record's revisions, always from 1: a record still at its first revision has no row for it
    yet (the update that first moves it on writes one, migration 0003), so it is read off the record."""
    rows = list(
        await db.scalars(
            select(tables.RecordRevision)
            .where(tables.RecordRevision.record_id == record.id)
            .order_by(tables.RecordRevision.revision)
        )
    )
    if rows and rows[0].revision == 1:
        return rows
    first = tables.RecordRevision(  # not added to the session: a view, never written from here
        record_id=record.id,
        revision=1,
        kind="create",
        submission_uuid=record.submission_uuid,
        user_id=record.created_by,
        answers=None,
        changed=[],
        created_at=record.created_at,
    )
    return [first, *rows]


async def open_conflicts(
    db: AsyncSession, project_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[tables.Conflict]:
    query = select(tables.Conflict).where(
        tables.Conflict.project_id == project_id, tables.Conflict.status == "open"
    )
    if after is not None:
        query = query.where(tables.Conflict.id > after)
    return list(await db.scalars(query.order_by(tables.Conflict.id).limit(limit)))


async def conflict(db: AsyncSession, project_id: uuid.UUID, conflict_id: uuid.UUID) -> tables.Conflict | None:
    return await db.scalar(
        select(tables.Conflict)
        .where(tables.Conflict.id == conflict_id, tables.Conflict.project_id == project_id)
        .with_for_update()
    )


async def resolve_conflict(db: AsyncSession, conflict_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await db.execute(
        update(tables.Conflict)
        .where(tables.Conflict.id == conflict_id)
        .values(status="resolved", resolved_by=user_id, resolved_at=func.now())
    )


async def has_open_conflicts(db: AsyncSession, record_id: uuid.UUID) -> bool:
    found = await db.scalar(
        select(func.count())
        .select_from(tables.Conflict)
        .where(tables.Conflict.record_id == record_id, tables.Conflict.status == "open")
    )
    return bool(found)


async def write_revision(
    db: AsyncSession,
    record: tables.Record,
    answers: dict[str, Any],
    *,
    kind: str,
    user_id: uuid.UUID,
    changed: list[str],
    status: str,
) -> int:
    revision = record.revision + 1
    db.add(
        tables.RecordRevision(
            record_id=record.id,
            revision=revision,
            kind=kind,
            submission_uuid=None,
            user_id=user_id,
            answers=answers,
            changed=changed,
        )
    )
    await db.execute(
        update(tables.Record)
        .where(tables.Record.id == record.id)
        .values(answers=answers, revision=revision, status=status, updated_by=user_id)
    )
    await db.flush()
    return revision


async def quarantine(
    db: AsyncSession, project_id: uuid.UUID, after: int | None, limit: int
) -> list[tables.Submission]:
    query = select(tables.Submission).where(
        tables.Submission.project_id == project_id, tables.Submission.outcome == "rejected"
    )
    if after is not None:
        query = query.where(tables.Submission.id > after)
    return list(await db.scalars(query.order_by(tables.Submission.id).limit(limit)))


async def quarantined(
    db: AsyncSession, project_id: uuid.UUID, submission_id: int
) -> tables.Submission | None:
    return await db.scalar(
        select(tables.Submission)
        .where(
            tables.Submission.id == submission_id,
            tables.Submission.project_id == project_id,
            tables.Submission.outcome == "rejected",
        )
        .with_for_update()
    )


async def close_quarantined(db: AsyncSession, submission_id: int, outcome: str) -> None:
    """Only the outcome changes (and the uuid is freed so a replay can use it); the payload stays."""
    await db.execute(
        update(tables.Submission)
        .where(tables.Submission.id == submission_id)
        .values(outcome=outcome, uuid=None)
    )
