"""Tablet sync: push offline batches, pull the change feed."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from survey_api.db.session import DB, unit_of_work
from survey_api.intake import ingest as intake
from survey_api.review.views import Record
from survey_api.review.views import records as record_views
from survey_api.stores import records
from survey_api.web import body, openapi
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller
from survey_api.web.media import respond, wants_msgpack
from survey_api.web.paging import BigInt, Cursor, Limit, clamp_limit
from sync.batch import BatchResult


class Changes(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Record]
    next: str
    more: bool


CHANGES = Cursor[tuple[int, int]](tuple[BigInt, BigInt], param="since")
"""The change feed's position: (change_xid, change_seq) of the last record sent."""


class SyncController(Controller):
    path = "/projects/{project:str}/sync"
    tags = ["sync"]

    @post(
        "/",
        status_code=200,
        opt={"request_body": openapi.SYNC_BODY, "response_model": BatchResult, "problems": (503,)},
    )
    async def push(self, project: FromPath[str], request: Request, user: Caller) -> Response[bytes]:
        """Take an offline batch (JSON or MessagePack, optionally gzip); sending it again is always safe.

        Every item gets a result in request order: accepted, merged, conflict, merged_duplicate,
        possible_duplicate, duplicate or rejected. Rejected items are kept in the quarantine.
        """
        state = request.app.state
        # The caller's access is read in a short transaction of its own: no connection is held while
        # the body arrives (slowly, on mobile data), and the batch is judged in a unit of its own.
        async with unit_of_work(state.sessionmaker) as db:
            access = await member(db, project, user, Action.PUSH)
        data = await body.read(request, state.settings.max_body_bytes)
        media = body.media_of(request)
        if state.helpers is not None:  # judged and committed by a helper process
            return await state.helpers.push(access, data, media, wants_msgpack(request))
        async with unit_of_work(state.sessionmaker) as db:
            result = await intake.ingest(db, access, data, media, state.validators)
        return respond(request, result)

    @get("/changes", opt={"response_model": Changes})
    async def changes(
        self,
        project: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
        since: FromQuery[str | None] = None,
        form: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> Response[bytes]:
        """Every record changed after the cursor `since`, in change order; follow `next` while `more`.

        A change is never skipped or repeated, even while batches arrive; records folded into another
        appear with `merged_into` set.
        """
        access = await member(db, project, user, Action.PUSH)
        cursor = CHANGES.decode(since) or (0, 0)
        size = clamp_limit(limit)
        rows = await records.changes(db, access.id, form, cursor, size + 1)
        page = rows[:size]
        last = (page[-1][0].change_xid, page[-1][0].change_seq) if page else cursor
        items = await record_views(db, access, page, request.app.state.validators)
        return respond(request, Changes(items=items, next=CHANGES.encode(last), more=len(rows) > size))
