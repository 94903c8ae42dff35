"""The intake log (`submissions`): what was received, once each, and the quarantine (its rejected rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import ARRAY, Text, any_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from forms.errors import Problem
from survey_api.db import tables
from survey_api.stores.bulk import copy_in
from sync.batch import ItemResult


class LogRow(msgspec.Struct, frozen=True, kw_only=True):
    """One received item as the log keeps it: what was sent, when, by whom, and what became of it."""

    uuid: str | None  # None: logged without it (a rejected item that does not own its uuid)
    project_id: uuid.UUID
    form_key: str | None
    form_version: str | None
    device_id: str | None
    user_id: uuid.UUID
    sent_at: datetime | None
    clock_skew_s: float
    started_at_raw: datetime | None  # as the device said, in UTC
    ended_at_raw: datetime | None
    started_at: datetime | None  # corrected for the device's clock skew
    ended_at: datetime | None
    content_hash: str | None
    payload: Any  # the item's text as sent, or what of it PostgreSQL can store (`sync.payload`)
    outcome: str
    errors: list[Problem]
    result: ItemResult
    record_id: uuid.UUID | None


async def earlier(db: AsyncSession, uuids: list[str]) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
    """uuid -> (content hash, first result) of submissions received before."""
    if not uuids:
        return {}
    rows = await db.execute(
        select(tables.Submission.uuid, tables.Submission.content_hash, tables.Submission.result).where(
            tables.Submission.uuid == any_(bindparam("uuids", uuids, type_=ARRAY(Text)))
        )
    )
    return {u: (h, r) for u, h, r in rows}


async def log(db: AsyncSession, rows: list[LogRow]) -> bool:
    """Append items to the log with their outcomes; False if a uuid was logged meanwhile.

    A uuid held by a concurrent batch makes the COPY wait for that batch: if it commits, the unique
    index refuses this one (and the caller's savepoint is spoiled: roll it back). Rows go in uuid
    order, so two batches sharing uuids wait on each other in one direction only (no deadlock).
    """
    try:
        await copy_in(db, tables.Submission.__table__, sorted(rows, key=by_uuid))  # type: ignore[arg-type]
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != UUID_CONSTRAINT:
            raise
        return False
    return True


UUID_CONSTRAINT = "uq_submissions_uuid"


def by_uuid(row: LogRow) -> tuple[bool, str]:
    return row.uuid is None, row.uuid or ""


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
