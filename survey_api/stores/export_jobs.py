"""Export jobs: their rows in `export_jobs` (kind `export`) and their entries on the job queue.

A job is queued in the caller's transaction (the queue's insert runs on the session's own connection),
so the row and the queue entry exist together or not at all. A file's expiry is kept in `params`
(`expires_at`, RFC 3339) beside the parameters it was made with.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api import credentials
from survey_api.db import queue, tables

KIND = "export"
"""The job's kind in `export_jobs` and its entrypoint on the queue."""
Job = tables.Job
LIVE = ("queued", "running")


async def create(
    db: AsyncSession, *, project_id: uuid.UUID, params: dict[str, Any], created_by: uuid.UUID
) -> tables.Job:
    """A queued job and its queue entry, in the caller's transaction."""
    job = Job(
        id=uuid.uuid4(),
        project_id=project_id,
        kind=KIND,
        params=params,
        status="queued",
        rows=0,
        progress=0.0,
        created_by=created_by,
    )
    db.add(job)
    await db.flush()
    await enqueue(db, job.id)
    return job


async def enqueue(db: AsyncSession, job_id: uuid.UUID) -> None:
    """Put the job on the queue through the session's connection, so inside its transaction."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    await queue.queries(raw.driver_connection).enqueue(KIND, str(job_id).encode())


async def get(db: AsyncSession, job_id: uuid.UUID) -> tables.Job | None:
    return await db.scalar(select(Job).where(Job.id == job_id, Job.kind == KIND))


async def claim(db: AsyncSession, job_id: uuid.UUID, stale_after: timedelta) -> tables.Job | str:
    """The job, now running from its start; or why not: `ended` (done, failed, gone) or `busy`
    (running elsewhere and reporting within `stale_after`; one silent for longer is taken over)."""
    job = await db.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.kind != KIND or job.status not in LIVE:
        return "ended"
    fresh = await db.scalar(select(Job.updated_at > func.now() - stale_after).where(Job.id == job_id))
    if job.status == "running" and fresh:
        return "busy"
    claimed = await db.scalar(
        update(Job)
        .where(Job.id == job_id)
        .values(status="running", rows=0, progress=0.0, error=None, updated_at=func.now())
        .returning(Job),
        execution_options={"populate_existing": True},
    )
    assert claimed is not None
    return claimed


async def progress(db: AsyncSession, job_id: uuid.UUID, rows: int, share: float) -> bool:
    """Rows written so far (a heartbeat too); False when the job is no longer running."""
    done = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(rows=rows, progress=share, updated_at=func.now())
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def finish(
    db: AsyncSession, job_id: uuid.UUID, *, rows: int, file_path: str, kept: dict[str, Any]
) -> bool:
    """The job done with its file (a path under the data dir) and what to keep of it in `params`
    (its expiry, name, media type); False if the job ended otherwise meanwhile."""
    more = bindparam("kept", kept, type_=JSONB)
    done = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(
            status="done",
            rows=rows,
            progress=1.0,
            file_path=file_path,
            params=Job.params.op("||")(more),
            finished_at=func.now(),
            updated_at=func.now(),
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def fail(db: AsyncSession, job_id: uuid.UUID, error: str) -> None:
    await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(LIVE))
        .values(status="failed", error=error, finished_at=func.now(), updated_at=func.now())
    )


async def requeue(db: AsyncSession, job_id: uuid.UUID) -> None:
    """A running job interrupted by its worker's shutdown: queued again, from its start."""
    requeued = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(status="queued", rows=0, progress=0.0, updated_at=func.now())
    )
    if requeued.rowcount:  # type: ignore[attr-defined]
        await enqueue(db, job_id)


async def expire(db: AsyncSession, limit: int = 100) -> list[tuple[uuid.UUID, str | None]]:
    """Done jobs past their `expires_at`, now `expired` without a file: (id, the file to delete).

    Rows another worker is expiring at the same time are skipped, not waited for."""
    rows = await db.execute(
        text(
            "WITH due AS ("
            "  SELECT id, file_path FROM export_jobs"
            "  WHERE kind = :kind AND status = 'done' AND (params->>'expires_at')::timestamptz <= now()"
            "  ORDER BY finished_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
            " UPDATE export_jobs AS j SET status = 'expired', file_path = NULL, updated_at = now()"
            " FROM due WHERE j.id = due.id RETURNING due.id, due.file_path"
        ),
        {"kind": KIND, "limit": limit},
    )
    return [(row[0], row[1]) for row in rows]


async def adopt_orphans(db: AsyncSession, silent_for: timedelta) -> list[uuid.UUID]:
    """Live jobs silent for `silent_for` that have no entry on the queue any more (their worker
    failed even to put them back): queued again, so none waits forever."""
    table = queue.settings().qualified.queue_table
    rows = await db.execute(
        text(
            "UPDATE export_jobs AS j SET status = 'queued', rows = 0, progress = 0, updated_at = now()"
            " WHERE j.kind = :kind AND j.status IN ('queued', 'running') AND j.updated_at < now() - CAST(:silent AS interval)"
            f" AND NOT EXISTS (SELECT 1 FROM {table} AS q WHERE q.entrypoint = :kind"
            "   AND q.payload = convert_to(j.id::text, 'UTF8'))"
            " RETURNING j.id"
        ),
        {"kind": KIND, "silent": silent_for},
    )
    adopted = [row[0] for row in rows]
    for job_id in adopted:
        await enqueue(db, job_id)
    return adopted


async def owner(db: AsyncSession, job: tables.Job) -> tuple[str, credentials.User] | None:
    """The job's project (its slug) and creator, as whose rights it runs; None if either is gone."""
    slug = await db.scalar(select(tables.Project.slug).where(tables.Project.id == job.project_id))
    user = await db.get(tables.User, job.created_by) if job.created_by else None
    if slug is None or user is None:
        return None
    creds = credentials.User(
        id=user.id, email=user.email, name=user.name, admin=user.admin, token_id=uuid.UUID(int=0)
    )
    return slug, creds
