"""Records and their revisions: the bulk writes of intake, reads of one record, a page, the change feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables
from survey_api.stores.bulk import copy_in


class RecordRow(msgspec.Struct, frozen=True, kw_only=True):
    """A record as intake inserts it (its change cursor and `updated_at` are the table's defaults)."""

    id: uuid.UUID
    project_id: uuid.UUID
    form_id: uuid.UUID
    form_version: str
    revision: int
    status: str
    duplicate_of: uuid.UUID | None
    answers: dict[str, Any]
    issues: list[Any]
    metadata: dict[str, Any] | None  # the submission's metadata by kind (the `meta` attribute)
    lat: float | None
    lon: float | None
    accuracy: float | None
    cell_x: int | None
    cell_y: int | None
    observations: int
    merged_into: uuid.UUID | None
    content_hash: str | None
    device_id: str | None
    submission_uuid: str | None  # the submission that created it
    created_by: uuid.UUID
    updated_by: uuid.UUID
    created_at: datetime
    observed_at: datetime | None


class RevisionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One revision of a record: what changed it, who, and its answers then."""

    record_id: uuid.UUID
    revision: int
    kind: str  # create, merge, unmerge, or an edit's outcome
    submission_uuid: str | None
    user_id: uuid.UUID
    answers: dict[str, Any] | None
    changed: list[str]


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


async def heads(db: AsyncSession, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, tables.Record]:
    """Records about to change (edits, folds, decisions), locked in id order: a fixed order cannot deadlock."""
    if not record_ids:
        return {}
    rows = await db.scalars(
        select(tables.Record)
        .where(tables.Record.id.in_(sorted(record_ids)))
        .order_by(tables.Record.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # fresh values even for rows the session holds
    )
    return {r.id: r for r in rows}


async def revisions(
    db: AsyncSession, keys: list[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], dict[str, Any]]:
    """The answers of given revisions; a first revision without them is its record's (still at it)."""
    if not keys:
        return {}
    rows = await db.execute(
        select(
            tables.RecordRevision.record_id,
            tables.RecordRevision.revision,
            func.coalesce(tables.RecordRevision.answers, tables.Record.answers),
        )
        .join(tables.Record, tables.Record.id == tables.RecordRevision.record_id)
        .where(tuple_(tables.RecordRevision.record_id, tables.RecordRevision.revision).in_(keys))
    )
    return {(r, n): a for r, n, a in rows}


async def add_records(db: AsyncSession, rows: list[RecordRow]) -> None:
    await copy_in(db, tables.Record.__table__, rows)  # type: ignore[arg-type]


async def add_revisions(db: AsyncSession, rows: list[RevisionRow]) -> None:
    await copy_in(db, tables.RecordRevision.__table__, rows)  # type: ignore[arg-type]


async def update_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key; the trigger bumps each record's change cursor."""
    if rows:
        await db.execute(update(tables.Record), rows)
