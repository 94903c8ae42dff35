"""Records, their history and edits; the review queues a coordinator works through."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from forms.errors import Problem
from survey_api.db.session import DB
from survey_api.errors import Conflict, Invalid, Malformed, NotFound
from survey_api.review import decisions, views
from survey_api.stores import conflicts, forms, records
from survey_api.stores import duplicates as dedup_store
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller
from survey_api.web.guard import in_utc
from survey_api.web.paging import Cursor, Limit, Moment, clamp_limit, split
from sync.merge import FieldConflict, apply_choices, changed_paths


class Revision(msgspec.Struct, frozen=True, kw_only=True):
    revision: int
    kind: str
    submission_uuid: str | None
    user_id: uuid.UUID | None
    created_at: datetime
    changed: list[Any]


class ObservationOut(msgspec.Struct, frozen=True, kw_only=True):
    """One source of a merged record's answers: a record folded in (or itself), or an edit since."""

    record_id: uuid.UUID
    kind: str
    submission_uuid: str | None
    observed_at: datetime | None
    accuracy: float | None


class RecordDetail(views.Record, frozen=True, kw_only=True):
    revisions: list[Revision]
    observation_list: list[ObservationOut]


class RecordPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[views.Record]
    next: str | None


class RecordPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    base_revision: int
    answers: dict[str, Any]


class ConflictOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    record_id: uuid.UUID
    submission_uuid: str | None
    fields: list[FieldConflict]


class ConflictPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ConflictOut]
    next: str | None


class Resolution(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    choose: dict[str, Any]


RECORDS = Cursor[tuple[datetime, uuid.UUID]](tuple[Moment, uuid.UUID])
"""A form's records are paged by (created_at, id)."""
CONFLICTS = Cursor[uuid.UUID](uuid.UUID)
"""Open conflicts are paged by id."""


class RecordController(Controller):
    path = "/projects/{project:str}"
    tags = ["records"]

    @get("/forms/{key:str}/records")
    async def list_records(
        self,
        project: FromPath[str],
        key: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
        status: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        bbox: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> RecordPage:
        """A form's records, oldest first; filter by `status`, `since` (updated), `bbox=minlon,minlat,maxlon,maxlat`."""
        access = await member(db, project, user, Action.READ)
        form = await forms.form(db, access.id, key)
        if form is None:
            raise NotFound(f"No form {key!r} in this project.")
        size = clamp_limit(limit)
        after = RECORDS.decode(cursor)
        rows = await records.page(
            db,
            form.id,
            status=status,
            since=in_utc(since, ["query", "since"]) if since else None,
            bbox=parse_bbox(bbox),
            after=after,
            limit=size + 1,
        )
        page, after_page = split(rows, size, RECORDS, lambda r: (r.created_at, r.id))
        items = await views.records(db, access, [(r, key) for r in page], request.app.state.validators)
        return RecordPage(items=items, next=after_page)

    @get("/records/{record_id:uuid}")
    async def get_record(
        self, project: FromPath[str], record_id: FromPath[uuid.UUID], request: Request, db: DB, user: Caller
    ) -> RecordDetail:
        """One record with its revisions: who changed what, when, from which submission."""
        access = await member(db, project, user, Action.READ)
        return await detail(db, access, record_id, request)

    @patch("/records/{record_id:uuid}", opt={"problems": (409,)})
    async def edit_record(
        self,
        project: FromPath[str],
        record_id: FromPath[uuid.UUID],
        data: JSONBody[RecordPatch],
        request: Request,
        db: DB,
        user: Caller,
    ) -> RecordDetail:
        """Change some answers of a record (coordinator); 409 when `base_revision` is not the head."""
        access = await member(db, project, user, Action.REVIEW)
        found = await records.one(db, access.id, record_id, lock=True)
        if found is None:
            raise NotFound(f"No record {record_id}.")
        record, _ = found
        decisions.refuse_merged(record)
        if data.base_revision != record.revision:
            raise Conflict(
                f"The record is at revision {record.revision}, not {data.base_revision}; reload it and edit again."
            )
        answers = {**record.answers, **data.answers}
        version = await forms.version(db, record.form_id, record.form_version)
        assert version is not None
        validated = request.app.state.validators.get(version, access.timezone).validate(answers)
        if validated.errors:
            raise Invalid(
                "Some answers cannot be read as their type.",
                validated.errors,
            )
        changed = changed_paths(record.answers, validated.answers)
        if changed:
            await records.write_revision(
                db,
                record,
                validated.answers,
                kind="edit",
                user_id=user.id,
                changed=changed,
                status=record.status,
            )
            await decisions.note_edit(db, record, validated.answers, changed, None)
        return await detail(db, access, record_id, request)


class ReviewController(Controller):
    path = "/projects/{project:str}"
    tags = ["review"]

    @get("/review/conflicts")
    async def list_conflicts(
        self,
        project: FromPath[str],
        db: DB,
        user: Caller,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> ConflictPage:
        """Stale edits that changed a field someone else changed too; each waits for a decision."""
        access = await member(db, project, user, Action.REVIEW)
        size = clamp_limit(limit)
        rows = await conflicts.open_conflicts(db, access.id, CONFLICTS.decode(cursor), size + 1)
        page, after = split(rows, size, CONFLICTS, lambda c: c.id)
        items = [
            ConflictOut(
                id=c.id,
                record_id=c.record_id,
                submission_uuid=c.submission_uuid,
                fields=msgspec.convert(c.fields, list[FieldConflict]),
            )
            for c in page
        ]
        return ConflictPage(items=items, next=after)

    @post("/review/conflicts/{conflict_id:uuid}", status_code=200, opt={"problems": (409,)})
    async def resolve(
        self,
        project: FromPath[str],
        conflict_id: FromPath[uuid.UUID],
        data: JSONBody[Resolution],
        request: Request,
        db: DB,
        user: Caller,
    ) -> RecordDetail:
        """Decide every conflicting field: `current`, `incoming` or `{"value": v}`; makes a new revision."""
        access = await member(db, project, user, Action.REVIEW)
        conflict = await conflicts.conflict(db, access.id, conflict_id)
        if conflict is None or conflict.status != "open":
            raise NotFound(f"No open conflict {conflict_id}.")
        found = await records.one(db, access.id, conflict.record_id, lock=True)
        assert found is not None
        record, _ = found
        decisions.refuse_merged(record)
        answers = apply_choices(
            record.answers, msgspec.convert(conflict.fields, list[FieldConflict]), data.choose
        )
        await conflicts.resolve_conflict(db, conflict.id, user.id)
        status = "conflict" if await conflicts.has_open_conflicts(db, record.id) else "ok"
        changed = changed_paths(record.answers, answers)
        await records.write_revision(
            db, record, answers, kind="resolve", user_id=user.id, changed=changed, status=status
        )
        await decisions.note_edit(db, record, answers, changed, conflict.submission_uuid)
        return await detail(db, access, record.id, request)


async def detail(db: DB, access: Any, record_id: uuid.UUID, request: Request) -> RecordDetail:
    found = await records.one(db, access.id, record_id)
    if found is None:
        raise NotFound(f"No record {record_id}.")
    [record] = await views.records(db, access, [found], request.app.state.validators)
    history = await records.history(db, found[0])
    revisions = [
        Revision(
            revision=r.revision,
            kind=r.kind,
            submission_uuid=r.submission_uuid,
            user_id=r.user_id,
            created_at=r.created_at,
            changed=r.changed,
        )
        for r in history
    ]
    held = (await dedup_store.observations(db, [record_id]))[record_id]
    observed = [
        ObservationOut(
            record_id=o.origin_id,
            kind=o.kind,
            submission_uuid=o.submission_uuid,
            observed_at=o.observed_at,
            accuracy=o.accuracy,
        )
        for o in held
    ]
    return RecordDetail(**msgspec.structs.asdict(record), revisions=revisions, observation_list=observed)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(-180 <= p <= 180 for p in parts):
        raise Malformed(
            "bbox is minlon,minlat,maxlon,maxlat in degrees.",
            [Problem(loc=["query", "bbox"], code="bad_bbox", message=text)],
        )
    return parts[0], parts[1], parts[2], parts[3]
