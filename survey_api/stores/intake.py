"""SQL of the intake path: bulk statements only, a constant number of round trips per batch."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api import tables


async def published_versions(
    db: AsyncSession, project_id: uuid.UUID, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[tables.Form, tables.FormVersion]]:
    """The published versions a batch names, by (form key, version)."""
    if not keys:
        return {}
    rows = await db.execute(
        select(tables.Form, tables.FormVersion)
        .join(tables.FormVersion, tables.FormVersion.form_id == tables.Form.id)
        .where(
            tables.Form.project_id == project_id,
            tables.FormVersion.status == "published",
            tuple_(tables.Form.key, tables.FormVersion.version).in_(list(keys)),
        )
    )
    return {(f.key, v.version): (f, v) for f, v in rows}


async def claim(db: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert submissions as `pending`; returns uuid -> id for those whose uuid was new.

    A concurrent batch with the same uuid waits on the unique index until this one commits, then
    finds the uuid taken, so every uuid is processed exactly once. Rows go in uuid order, so two
    batches sharing uuids in different orders wait on each other in one direction only (no deadlock).
    """
    if not rows:
        return {}
    rows = sorted(rows, key=lambda r: r["uuid"])
    statement = (
        insert(tables.Submission)
        .on_conflict_do_nothing(index_elements=[tables.Submission.uuid])
        .returning(tables.Submission.uuid, tables.Submission.id)
    )
    result = await db.execute(statement, rows)
    return {u: i for u, i in result.all()}


async def earlier(db: AsyncSession, uuids: list[str]) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
    """uuid -> (content hash, first result) of submissions received before."""
    if not uuids:
        return {}
    rows = await db.execute(
        select(tables.Submission.uuid, tables.Submission.content_hash, tables.Submission.result).where(
            tables.Submission.uuid.in_(uuids)
        )
    )
    return {u: (h, r) for u, h, r in rows}


async def log_rejected(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Quarantine rows that cannot hold their uuid (none, or one already taken)."""
    if rows:
        await db.execute(insert(tables.Submission), rows)


async def settle(db: AsyncSession, outcomes: list[dict[str, Any]]) -> None:
    """Write each claimed submission's outcome and the result its tablet was given."""
    if not outcomes:
        return
    statement = (
        update(tables.Submission)
        .where(tables.Submission.id == bindparam("sid"))
        .values(
            outcome=bindparam("outcome"),
            result=bindparam("result"),
            errors=bindparam("errors"),
            record_id=bindparam("rid"),
        )
    )
    conn = await db.connection()
    await conn.execute(statement, outcomes)


async def heads(db: AsyncSession, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, tables.Record]:
    """Records about to be edited, locked in id order (a fixed order cannot deadlock)."""
    if not record_ids:
        return {}
    rows = await db.scalars(
        select(tables.Record)
        .where(tables.Record.id.in_(sorted(record_ids)))
        .order_by(tables.Record.id)
        .with_for_update()
    )
    return {r.id: r for r in rows}


async def revisions(
    db: AsyncSession, keys: list[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], dict[str, Any]]:
    if not keys:
        return {}
    rows = await db.execute(
        select(
            tables.RecordRevision.record_id, tables.RecordRevision.revision, tables.RecordRevision.answers
        ).where(tuple_(tables.RecordRevision.record_id, tables.RecordRevision.revision).in_(keys))
    )
    return {(r, n): a for r, n, a in rows}


async def add_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(tables.Record), rows)


async def add_revisions(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(tables.RecordRevision), rows)


async def add_conflicts(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(tables.Conflict), rows)


async def update_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key; the trigger bumps each record's change cursor."""
    if rows:
        await db.execute(update(tables.Record), rows)
