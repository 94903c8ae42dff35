"""Export jobs: an export checked when it is asked for, run later by a worker into a file under the
data dir, with its progress on the job's row, and its file deleted when it expires.

The job runs with its creator's rights as they are when it runs (a member removed meanwhile gets a
failed job, and personal data only if they still may see it). A worker that is stopped puts its
running job back on the queue; one that dies leaves it to be taken over once its row has been silent
for `STALE_AFTER` (the queue hands it out again when its own heartbeat stops).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from survey_api.credentials import User
from survey_api.db.session import Session, Sessions, unit_of_work
from survey_api.errors import ApiError, NotFound
from survey_api.exporting import run
from survey_api.exporting.params import ExportRequest, check
from survey_api.stores import export_jobs, projects
from survey_api.stores.media import LocalMedia, MediaStore
from survey_api.web.access import Action, ProjectAccess, allowed, member

KIND = export_jobs.KIND
REPORT_EVERY_S = 0.5  # progress is written at most this often ...
HEARTBEAT_S = 5.0  # ... and at least this often while the job runs
STALE_AFTER = timedelta(seconds=60)
ORPHANED_AFTER = timedelta(minutes=10)  # a live job silent this long, with no queue entry, is queued again
FOLDER = "exports"
FIELDS = frozenset(ExportRequest.__struct_fields__)
FAILED = (
    "The export stopped on an unexpected error after {rows} of {total} records. Start it again; "
    "the details are in the server's log under job {job}."
)
log = logging.getLogger(__name__)


class Busy(Exception):
    """The job runs in another worker that still reports: ask again later."""


class Superseded(Exception):
    """The job's row no longer says it runs here (it was taken over): this run stops."""


async def start(
    db: Session, access: ProjectAccess, request: ExportRequest, base_url: str | None = None
) -> Any:
    """A queued job for this export, once its parameters, form and the caller's rights are checked;
    `base_url` (the server's address as the caller reached it) is kept for the links to files."""
    params = check(request)
    assert request.form is not None
    prepared = await run.prepare(db, access, request.form, params)
    wanted = {k: v for k, v in msgspec.structs.asdict(request).items() if v is not None}
    kept = {"base_url": base_url} if base_url else {}
    return await export_jobs.create(
        db,
        project_id=access.id,
        params={**wanted, **kept, "total": prepared.total},
        created_by=access.user.id,
    )


async def execute(
    sessions: Sessions, data_dir: Path, ttl: timedelta, job_id: uuid.UUID, media: MediaStore | None = None
) -> None:
    """The job's work, from the queue: the file written, or a sentence saying why not. `media`: where
    the files of `media=true` are read (by default `<data dir>/media`)."""
    async with unit_of_work(sessions) as db:
        job = await export_jobs.claim(db, job_id, STALE_AFTER)
    if job == "busy":
        raise Busy
    if isinstance(job, str):
        return  # done, failed or deleted: a second delivery of a job that ended
    rows = total = 0
    try:
        async with unit_of_work(sessions) as db:
            access = await creator_access(db, job)
            request = msgspec.convert({k: v for k, v in job.params.items() if k in FIELDS}, ExportRequest)
            assert request.form is not None
            base_url = job.params.get("base_url")
            prepared = await run.prepare(
                db, access, request.form, check(request), base_url if isinstance(base_url, str) else None
            )
        total = prepared.total
        name = f"{FOLDER}/{job_id}.{prepared.extension}"
        path = data_dir / name
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        progress = Progress(sessions, job_id, total)
        files = media if media is not None else LocalMedia(data_dir / "media")
        rows = await progress.around(lambda report: run.write_file(sessions, prepared, path, report, files))
        kept = {
            "expires_at": (datetime.now(UTC) + ttl).isoformat(),
            "filename": prepared.filename,
            "media_type": prepared.media_type,
            "pii": prepared.options.pii,
        }
        async with unit_of_work(sessions) as db:
            finished = await export_jobs.finish(db, job_id, rows=rows, file_path=name, kept=kept)
        if not finished:
            await asyncio.to_thread(path.unlink, missing_ok=True)
    except asyncio.CancelledError:  # the worker is stopping: the job goes back on the queue
        async with unit_of_work(sessions) as db:
            await export_jobs.requeue(db, job_id)
        raise
    except Superseded:
        log.warning("export job %s was taken over by another worker; this run stops", job_id)
    except ApiError as exc:
        async with unit_of_work(sessions) as db:
            await export_jobs.fail(db, job_id, sentence(exc))
    except Exception:
        log.exception("export job %s failed", job_id)
        async with unit_of_work(sessions) as db:
            await export_jobs.fail(db, job_id, FAILED.format(rows=rows, total=total, job=job_id))


async def creator_access(db: Session, job: Any) -> ProjectAccess:
    found = await export_jobs.owner(db, job)
    if found is None:
        raise ApiError("Its project or the person who asked for it no longer exists.")
    slug, user = found
    return await member(db, slug, user, Action.READ)


def sentence(exc: ApiError) -> str:
    """What stopped the job, for people: the error's detail and what each problem says."""
    details = " ".join(p.message.rstrip(".") + "." for p in exc.problems if p.message)
    return f"The export could not run: {exc.detail}" + (f" {details}" if details else "")


class Progress:
    """Rows written so far, on the job's row every `REPORT_EVERY_S` (a heartbeat every `HEARTBEAT_S`)."""

    def __init__(self, sessions: Sessions, job_id: uuid.UUID, total: int) -> None:
        self.sessions, self.job_id, self.total = sessions, job_id, total
        self.count = 0

    def update(self, count: int) -> None:
        self.count = count

    async def around(self, work: Callable[[Callable[[int], None]], Any]) -> int:
        """Run `work(report)` while reporting; its result (the records written)."""
        task = asyncio.ensure_future(work(self.update))
        reported, quiet = -1, 0.0
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=REPORT_EVERY_S)
                if done:
                    return task.result()
                quiet += REPORT_EVERY_S
                if self.count == reported and quiet < HEARTBEAT_S:
                    continue
                reported, quiet = self.count, 0.0
                share = min(1.0, reported / self.total) if self.total else 0.0
                async with unit_of_work(self.sessions) as db:
                    if not await export_jobs.progress(db, self.job_id, reported, share):
                        raise Superseded
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def sweep(sessions: Sessions, data_dir: Path) -> int:
    """Expire done jobs past their time and delete their files; how many expired. Jobs that lost
    their place on the queue are put back on it."""
    async with unit_of_work(sessions) as db:
        if adopted := await export_jobs.adopt_orphans(db, ORPHANED_AFTER):
            log.warning("export jobs %s had lost their place on the queue; queued again", adopted)
        gone = await export_jobs.expire(db)
        for _, name in gone:
            if name:
                await asyncio.to_thread((data_dir / name).unlink, missing_ok=True)
    if gone:
        log.info("%d export files expired and were deleted", len(gone))
    return len(gone)


async def visible(db: Session, user: User, job_id: uuid.UUID) -> tuple[Any, bool]:
    """The job if the caller may see it (its creator, or anyone who may read its project; 404
    otherwise), and whether they may download its file (personal data in it needs `pii`)."""
    job = await export_jobs.get(db, job_id)
    if job is None:
        raise NotFound(f"No export job {job_id}.")
    if job.created_by == user.id:
        return job, True
    membership = await projects.membership(db, job.project_id, user.id)
    role = membership.role if membership else None
    if not allowed(role, user.admin, Action.READ):
        raise NotFound(f"No export job {job_id}.")
    pii = user.admin or bool(membership and membership.pii)
    return job, pii or not job.params.get("pii", False)
