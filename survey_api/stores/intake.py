"""SQL of the intake path: bulk statements only, a constant number of round trips per batch."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Text, any_, bindparam, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables
from survey_api.stores.bulk import copy_in


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


async def log(db: AsyncSession, rows: list[dict[str, Any]]) -> bool:
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


def by_uuid(row: dict[str, Any]) -> tuple[bool, str]:
    return row["uuid"] is None, row["uuid"] or ""


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


async def add_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await copy_in(db, tables.Record.__table__, rows)  # type: ignore[arg-type]


async def add_revisions(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await copy_in(db, tables.RecordRevision.__table__, rows)  # type: ignore[arg-type]


async def add_conflicts(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(tables.Conflict), rows)


async def update_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key; the trigger bumps each record's change cursor."""
    if rows:
        await db.execute(update(tables.Record), rows)
