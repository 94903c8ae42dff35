"""Re-examining a form's live records after a policy change: a job with progress, page by page.

Each page of records (in id order) looks up its candidates in one query, like an intake batch, and is
committed on its own, so progress is visible and a failure keeps what was done. A record is compared
only with records created before it, so a pair is proposed once; pairs already proposed or decided
(either way round) are left alone.

One rescan is live (queued or running) per form, whichever server process is asked: a partial unique
index holds it (migration 0004), so two at once cannot deadlock on the same records. Each page's
report is a heartbeat; a live job silent for `SILENT_AFTER` is presumed dead (its server stopped), is
failed by the next request, and stops itself if it ever reports again. A job's `error` is a sentence
for people; the exception and its SQL go to the log.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from survey_api.db import tables
from survey_api.db.session import Session, Sessions, unit_of_work
from survey_api.errors import Unavailable
from survey_api.intake import placement as dedup
from survey_api.intake.items import Validators
from survey_api.review import decisions
from survey_api.stores import duplicates as store
from survey_api.stores import forms, jobs
from survey_api.web.access import ProjectAccess
from sync import candidates
from sync.dedup import Candidate

PAGE = 500
KIND = "dedup_rescan"
SILENT_AFTER = timedelta(minutes=10)  # a page takes seconds; ten minutes without a report is a dead job
SILENT = "The rescan stopped reporting progress (its server was probably restarted); what it did is kept. Start it again."
FAILED = (
    "The rescan stopped on an unexpected error after {examined} of {total} records; what it did is "
    "kept. Start it again; the details are in the server's log under job {job}."
)
log = logging.getLogger(__name__)


class Superseded(Exception):
    """This job was presumed dead and failed while it still ran: it stops, and its page is rolled back."""


async def start(db: Session, access: ProjectAccess, form: tables.Form) -> tuple[tables.Job, bool]:
    """The form's live rescan, or a new queued one (then True): one is live per form at a time."""
    await jobs.fail_silent(db, access.id, KIND, form.key, SILENT_AFTER, SILENT)
    for _ in range(3):  # a live job can end between the insert and the look-up: then insert again
        job = await jobs.insert_rescan(
            db,
            id=uuid.uuid4(),
            project_id=access.id,
            kind=KIND,
            params={"form": form.key, "merged": 0, "proposed": 0},
            status="queued",
            rows=0,
            progress=0.0,
            created_by=access.user.id,
        )
        if job is not None:
            return job, True
        if (running := await jobs.live(db, access.id, KIND, form.key)) is not None:
            return running, False
    raise Unavailable("Rescans of this form are starting and ending very fast; ask again.")


async def run(
    sessionmaker: Sessions,
    access: ProjectAccess,
    form_id: uuid.UUID,
    job_id: uuid.UUID,
    validators: Validators,
) -> None:
    """The job's work; runs after the request that queued it has committed."""
    counts = {"merged": 0, "proposed": 0}
    examined = total = 0
    try:
        async with unit_of_work(sessionmaker) as db:
            total = await store.count_live(db, form_id)
            if not await jobs.report(db, job_id, status="running"):
                raise Superseded
        after = None
        while True:
            async with unit_of_work(sessionmaker) as db:
                page = await store.live_records(db, form_id, after, PAGE)
                if not page:
                    break
                found = await examine(db, access, form_id, page, validators)
                progress = min(1.0, (examined + len(page)) / max(total, 1))
                done = {key: n + found[key] for key, n in counts.items()}
                if not await jobs.report(
                    db, job_id, rows=examined + len(page), progress=progress, counts=done
                ):
                    raise Superseded  # rolls this page back: the job that replaced this one redoes it
            examined, counts, after = examined + len(page), done, page[-1].id
        async with unit_of_work(sessionmaker) as db:
            await jobs.report(db, job_id, status="done", progress=1.0, finished=True, counts=counts)
    except Superseded:
        log.warning("duplicate rescan %s was presumed dead and replaced; it stops", job_id)
    except Exception:  # the job reports its failure in words; the pages already done stay done
        log.exception("duplicate rescan %s failed", job_id)
        error = FAILED.format(examined=examined, total=total, job=job_id)
        async with unit_of_work(sessionmaker) as db:
            await jobs.report(db, job_id, status="failed", error=error, finished=True, counts=counts)


async def examine(
    db: Session,
    access: ProjectAccess,
    form_id: uuid.UUID,
    page: list[tables.Record],
    validators: Validators,
) -> dict[str, int]:
    form = await forms.by_id(db, form_id)
    latest = await forms.latest_published(db, form_id)
    assert form is not None
    policy = dedup.policy_of(form, latest.definition if latest else {})
    types = validators.get(latest, access.timezone).field_types if latest else {}
    radius = policy.radius_m if policy is not None else 0.0  # without a policy: double taps only
    probes = {
        r.id: dedup.search(form_id, r.lat, r.lon, radius)
        for r in page
        if r.lat is not None and r.lon is not None
    }
    cells = {i: [(p[1], p[2]) for p in found] for i, found in probes.items()}
    rows = await store.candidates(
        db,
        [p for found in probes.values() for p in found],
        [(form_id, r.content_hash) for r in page if r.content_hash and r.device_id and r.id not in probes],
        {form_id: list(policy.match_fields) if policy is not None else []},
    )
    index = candidates.Index()
    created: dict[str, tuple[datetime, str]] = {}
    for row in rows:
        dedup.add_stored(index, row)
        created[str(row[0])] = (row[8], str(row[0]))
    known = await store.known_pairs(db, [r.id for r in page] + [row[0] for row in rows])
    gone: set[str] = set()
    counts = {"merged": 0, "proposed": 0}
    for record in page:
        me = str(record.id)
        if me in gone:
            continue
        here = Candidate(
            record_id=me,
            lat=record.lat,
            lon=record.lon,
            answers=record.answers,
            observed_at=record.observed_at,
            device_id=record.device_id,
            content_hash=record.content_hash,
        )
        older = [
            c
            for c in index.near(form_id, cells.get(record.id, ()), record.content_hash)
            if c.record_id not in gone
            and created.get(c.record_id, (record.created_at, me)) < (record.created_at, me)
        ]
        match = candidates.match(policy, here, older, types, known)
        if match is None:
            continue
        pair = await store.add_pair(
            db,
            project_id=access.id,
            form_id=form_id,
            record_id=record.id,
            candidate_id=uuid.UUID(match.record_id),
            score=match.score.total,
            breakdown=candidates.breakdown(match.score),
        )
        known.add(frozenset((me, match.record_id)))
        if match.decision == "merge":
            await decisions.merge(db, access, pair, pair.candidate_id, validators, by_system=True)
            gone.add(me)
            counts["merged"] += 1
        else:
            await decisions.reflag(db, record.id)
            counts["proposed"] += 1
    return counts
