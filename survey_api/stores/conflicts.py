"""Conflicts: stale edits that changed a field someone else changed too, waiting for a coordinator."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables


class ConflictRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stale edit's fields that clash with the head, opened for a coordinator."""

    id: uuid.UUID
    project_id: uuid.UUID
    record_id: uuid.UUID
    submission_uuid: str | None
    base_revision: int
    fields: list[dict[str, Any]]


async def add_conflicts(db: AsyncSession, rows: list[ConflictRow]) -> None:
    if rows:
        await db.execute(insert(tables.Conflict), [msgspec.structs.asdict(r) for r in rows])


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
