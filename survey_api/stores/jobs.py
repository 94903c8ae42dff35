"""Background jobs: one live job per form and kind (the partial unique index of migration 0004), progress."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables

LIVE = ("queued", "running")
Job = tables.Job


def _of_form(project_id: uuid.UUID, kind: str, form_key: str) -> list[Any]:
    return [Job.project_id == project_id, Job.kind == kind, Job.params["form"].astext == form_key]


async def insert_rescan(db: AsyncSession, **values: Any) -> tables.Job | None:
    """The new rescan job, or None when its form has a live one (waiting for a rival's insert to end)."""
    statement = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[Job.project_id, text("(params->>'form')")],
            index_where=text(tables.LIVE_RESCAN),
        )
        .returning(Job)
    )
    return (await db.scalars(statement)).first()


async def live(db: AsyncSession, project_id: uuid.UUID, kind: str, form_key: str) -> tables.Job | None:
    return await db.scalar(select(Job).where(*_of_form(project_id, kind, form_key), Job.status.in_(LIVE)))


async def fail_silent(
    db: AsyncSession, project_id: uuid.UUID, kind: str, form_key: str, silent_for: timedelta, error: str
) -> None:
    """Fail the form's live job if it has reported nothing for `silent_for`: its server stopped."""
    await db.execute(
        update(Job)
        .where(
            *_of_form(project_id, kind, form_key),
            Job.status.in_(LIVE),
            Job.updated_at < func.now() - silent_for,
        )
        .values(status="failed", error=error, finished_at=func.now(), updated_at=func.now())
    )


async def report(
    db: AsyncSession,
    job_id: uuid.UUID,
    *,
    counts: dict[str, int] | None = None,
    finished: bool = False,
    **values: Any,
) -> bool:
    """Write a live job's progress (its heartbeat too); False if it is no longer live, so its runner stops."""
    job = await db.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status not in LIVE:
        return False
    if counts is not None:
        values["params"] = {**job.params, **counts}
    if finished:
        values["finished_at"] = func.now()
    await db.execute(update(Job).where(Job.id == job_id).values(updated_at=func.now(), **values))
    return True


async def get(db: AsyncSession, job_id: uuid.UUID) -> tables.Job | None:
    return await db.get(tables.Job, job_id)
