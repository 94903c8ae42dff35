"""The quarantine: submissions that could not be stored as records, replayed or discarded by a coordinator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from survey_api.db import tables
from survey_api.db.session import DB
from survey_api.errors import NotFound
from survey_api.intake.ingest import ingest
from survey_api.stores import projects, submissions
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller
from survey_api.web.guard import PathId
from survey_api.web.paging import BigInt, Cursor, Limit, clamp_limit, split
from sync.batch import ItemResult


class Quarantined(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    uuid: str | None
    form: str | None
    version: str | None
    device_id: str | None
    received_at: datetime
    errors: list[Any]
    payload: Any


class QuarantinePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Quarantined]
    next: str | None


class Replay(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    submission: dict[str, Any] | None = None


QUARANTINE = Cursor[int](BigInt)
"""The quarantine is paged by submission id."""


class QuarantineController(Controller):
    path = "/projects/{project:str}"
    tags = ["review"]

    @get("/quarantine")
    async def list_quarantine(
        self,
        project: FromPath[str],
        db: DB,
        user: Caller,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> QuarantinePage:
        """Submissions that could not be stored as records, with their errors and raw payload."""
        access = await member(db, project, user, Action.REVIEW)
        size = clamp_limit(limit)
        rows = await submissions.quarantine(db, access.id, QUARANTINE.decode(cursor), size + 1)
        page, after = split(rows, size, QUARANTINE, lambda s: s.id)
        return QuarantinePage(items=[quarantined(s) for s in page], next=after)

    @post("/quarantine/{submission_id:int}/replay", status_code=200)
    async def replay(
        self,
        project: FromPath[str],
        submission_id: PathId,
        data: JSONBody[Replay],
        request: Request,
        db: DB,
        user: Caller,
    ) -> ItemResult:
        """Run a quarantined submission through intake again, as it was or `submission` corrected."""
        access = await member(db, project, user, Action.REVIEW)
        row = await close_quarantined(db, access, submission_id, "replayed")
        submission = data.submission if data.submission is not None else row.payload
        batch = msgspec.json.encode({"device_id": row.device_id, "submissions": [submission]})
        result = await ingest(db, access, batch, "json", request.app.state.validators)
        return result.results[0]

    @delete("/quarantine/{submission_id:int}", status_code=204)
    async def discard(self, project: FromPath[str], submission_id: PathId, db: DB, user: Caller) -> None:
        """Discard a quarantined submission; the payload stays in the log and the act is audited."""
        access = await member(db, project, user, Action.REVIEW)
        await close_quarantined(db, access, submission_id, "discarded")


async def close_quarantined(db: DB, access: Any, submission_id: int, outcome: str) -> tables.Submission:
    """Take a submission out of the quarantine (`replayed` or `discarded`), audited with its errors."""
    row = await submissions.quarantined(db, access.id, submission_id)
    if row is None:
        raise NotFound(f"No quarantined submission {submission_id}.")
    await submissions.close_quarantined(db, row.id, outcome)
    await projects.audit(
        db,
        action=f"quarantine.{outcome}",
        user_id=access.user.id,
        project_id=access.id,
        target=str(row.id),
        detail={"errors": row.errors},
    )
    return row


def quarantined(row: tables.Submission) -> Quarantined:
    payload = row.payload
    claimed = row.uuid or claimed_uuid(payload)
    return Quarantined(
        id=row.id,
        uuid=claimed,
        form=row.form_key,
        version=row.form_version,
        device_id=row.device_id,
        received_at=row.received_at,
        errors=row.errors or [],
        payload=payload,
    )


class _Claim(msgspec.Struct):
    uuid: Any = None


_CLAIM = msgspec.json.Decoder(_Claim, float_hook=float)


def claimed_uuid(payload: msgspec.Raw) -> str | None:
    """The uuid a payload names, for an item logged without owning it (a reuse, a failed parse)."""
    try:
        claimed = _CLAIM.decode(payload).uuid
    except (msgspec.DecodeError, RecursionError):
        return None
    return claimed if isinstance(claimed, str) else None
