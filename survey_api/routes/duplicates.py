"""The duplicate review queue, decisions on it, and the rescan job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody

from survey_api.db import tables
from survey_api.db.session import DB
from survey_api.errors import NotFound
from survey_api.review import decisions, rescan
from survey_api.routes.forms import require_form
from survey_api.stores import duplicates as store
from survey_api.stores import forms, jobs, projects
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller
from survey_api.web.paging import Cursor, Limit, Moment, clamp_limit, split


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    distance_m: float | None
    fields: dict[str, float]
    missing: list[str] = []
    double_tap: bool = False


class Pair(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    form: str
    record_id: uuid.UUID
    candidate_id: uuid.UUID
    score: float
    breakdown: Breakdown
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    kept_id: uuid.UUID | None
    created_at: datetime


class PairPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Pair]
    next: str | None


class Decision(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["merge", "distinct", "undo"]
    keep: uuid.UUID | None = None


class Job(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: str
    progress: float
    rows: int
    merged: int
    proposed: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None


PAIRS = Cursor[tuple[datetime, uuid.UUID]](tuple[Moment, uuid.UUID])
"""Pairs are paged by (created_at, id)."""


class DuplicateController(Controller):
    path = "/projects/{project:str}"
    tags = ["review"]

    @get("/review/duplicates")
    async def list_pairs(
        self,
        project: FromPath[str],
        db: DB,
        user: Caller,
        form: FromQuery[str | None] = None,
        decided: FromQuery[bool | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> PairPage:
        """Pairs that may be one real-world thing, oldest first, with score and breakdown.

        `decided=false` is the queue; automatic merges are pairs decided by `system`.
        """
        access = await member(db, project, user, Action.REVIEW)
        keys = await forms.keys(db, access.id)
        form_id = None
        if form is not None:
            form_id = (await require_form(db, access.id, form)).id
        after = PAIRS.decode(cursor)
        size = clamp_limit(limit)
        rows = await store.pairs(db, access.id, form_id=form_id, decided=decided, after=after, limit=size + 1)
        page, next_cursor = split(rows, size, PAIRS, lambda p: (p.created_at, p.id))
        return PairPage(items=[pair_view(p, keys.get(p.form_id, "")) for p in page], next=next_cursor)

    @post("/review/duplicates/{pair_id:uuid}", status_code=200, opt={"problems": (409,)})
    async def decide(
        self,
        project: FromPath[str],
        pair_id: FromPath[uuid.UUID],
        data: JSONBody[Decision],
        request: Request,
        db: DB,
        user: Caller,
    ) -> Pair:
        """`merge` (keeping `keep`, default the earlier record), `distinct` (never proposed again), or
        `undo` of either, which restores both records as they would be without the merge."""
        access = await member(db, project, user, Action.REVIEW)
        pair = await store.pair(db, access.id, pair_id)
        if pair is None:
            raise NotFound(f"No duplicate pair {pair_id}.")
        validators = request.app.state.validators
        before = pair.decision
        if data.decision == "merge":
            await decisions.merge(db, access, pair, data.keep, validators)
        elif data.decision == "distinct":
            await decisions.distinct(db, pair, access)
        else:
            await decisions.undo(db, access, pair, validators)
        await projects.audit(
            db,
            action=f"duplicates.{data.decision}",
            user_id=user.id,
            project_id=access.id,
            target=str(pair.id),
            detail={
                **decisions.describe(pair),
                "before": before,
                "keep": str(data.keep) if data.keep else None,
            },
        )
        await db.refresh(pair)  # the decision was written by statement, not through the object
        form = await forms.by_id(db, pair.form_id)
        return pair_view(pair, form.key if form else "")

    @post(
        "/forms/{key:str}/dedup/rescan",
        status_code=202,
        responses={200: ResponseSpec(Job, description="The job already queued or running for this form.")},
    )
    async def start_rescan(
        self, project: FromPath[str], key: FromPath[str], request: Request, db: DB, user: Caller
    ) -> Response[Job]:
        """Re-examine the form's live records under its current policy; follow `Location` for progress.

        One rescan runs per form, whichever server is asked: 202 with a new queued job, or 200 with
        the job already queued or running (a second coordinator, a double-click), never a second
        one. A job that has reported no progress for 10 minutes is presumed dead and replaced.
        """
        access = await member(db, project, user, Action.MANAGE)
        form = await require_form(db, access.id, key)
        job, started = await rescan.start(db, access, form)
        work = None
        if started:
            work = BackgroundTask(
                rescan.run,
                request.app.state.sessionmaker,
                access,
                form.id,
                job.id,
                request.app.state.validators,
            )
        return Response(
            job_view(job),
            status_code=202 if started else 200,
            headers={"Location": f"/api/v1/projects/{project}/forms/{key}/dedup/rescan/{job.id}"},
            background=work,
        )

    @get("/forms/{key:str}/dedup/rescan/{job_id:uuid}")
    async def rescan_status(
        self, project: FromPath[str], key: FromPath[str], job_id: FromPath[uuid.UUID], db: DB, user: Caller
    ) -> Job:
        """A rescan's status (`queued`, `running`, `done`, `failed`), progress 0–1 and what it did."""
        access = await member(db, project, user, Action.MANAGE)
        await require_form(db, access.id, key)
        job = await jobs.get(db, job_id)
        if (
            job is None
            or job.project_id != access.id
            or job.kind != rescan.KIND
            or job.params.get("form") != key
        ):
            raise NotFound(f"No rescan {job_id} of form {key!r}.")
        return job_view(job)


def pair_view(pair: tables.DuplicatePair, form_key: str) -> Pair:
    return Pair(
        id=pair.id,
        form=form_key,
        record_id=pair.record_id,
        candidate_id=pair.candidate_id,
        score=pair.score,
        breakdown=msgspec.convert(pair.breakdown, Breakdown),
        decision=pair.decision,
        decided_by=pair.decided_by,
        decided_at=pair.decided_at,
        kept_id=pair.kept_id,
        created_at=pair.created_at,
    )


def job_view(job: tables.Job) -> Job:
    params: dict[str, Any] = job.params or {}
    return Job(
        id=job.id,
        status=job.status,
        progress=job.progress,
        rows=job.rows,
        merged=int(params.get("merged", 0)),
        proposed=int(params.get("proposed", 0)),
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
