"""Files a submission sent (photos, recordings): put by name after the submission, read back by analysts."""

from __future__ import annotations

import re
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from survey_api.db.session import DB
from survey_api.errors import Forbidden, NotFound
from survey_api.intake.attachments import Attached, attach, check_name, field_of, path_of
from survey_api.stores import attachments, forms
from survey_api.web import body
from survey_api.web.access import Action, ProjectAccess, member
from survey_api.web.auth import Caller
from survey_api.web.media import respond

FILE_BODY = {"application/octet-stream": {"type": "string", "format": "binary"}}
"""Any media type: the body is the file's bytes and `Content-Type` is kept as the file's type."""
FILE_DOWNLOAD = {"application/octet-stream": {"type": "string", "format": "binary"}}
_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class AttachmentOut(msgspec.Struct, frozen=True, kw_only=True):
    """A file a submission sent; `url` downloads it."""

    filename: str
    field: str | None
    content_type: str
    size: int
    sha256: str
    url: str


class AttachmentList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[AttachmentOut]


class AttachmentController(Controller):
    path = "/projects/{project:str}/submissions/{submission:str}/attachments"
    tags = ["attachments"]

    @put(
        "/{filename:str}",
        status_code=201,
        request_max_body_size=None,  # bounded below by SURVEY_MAX_ATTACHMENT_MB, whatever the body limit
        responses={
            200: ResponseSpec(data_container=Attached, description="Replaced, or the same bytes again.")
        },
        opt={"request_body": FILE_BODY, "response_model": Attached},
    )
    async def put_file(
        self,
        project: FromPath[str],
        submission: FromPath[str],
        filename: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
    ) -> Response[bytes]:
        """Send one file of a submission already received, named as its answer names it (`photo.jpg`).

        The body is the file's bytes and `Content-Type` its type. 201 when the file is new; 200 when it
        replaces one of the same name (`replaced`) or is the same bytes again (`unchanged`: a resend is
        safe). 404 for a submission this project never received, 413 over `SURVEY_MAX_ATTACHMENT_MB`
        for one file or `SURVEY_MAX_SUBMISSION_MB` for a submission's files together, 422 for a name
        with a slash or a control character, or over 255 characters. Those who may push batches may
        send files."""
        access = await member(db, project, user, Action.PUSH)
        check_name(filename)
        settings = request.app.state.settings
        data = await body.read(request, settings.max_attachment_bytes)
        attached = await attach(
            db,
            request.app.state.media,
            access,
            submission,
            filename,
            request.headers.get("content-type", ""),
            data,
            user.id,
            settings,
        )
        status = 200 if attached.replaced or attached.unchanged else 201
        return respond(request, attached, status_code=status)

    @get("/{filename:str}", opt={"download": FILE_DOWNLOAD, "etag": True})
    async def get_file(
        self,
        project: FromPath[str],
        submission: FromPath[str],
        filename: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
    ) -> Response[bytes]:
        """The file's bytes, with the type it was sent with; `ETag` is its sha256 (304 on `If-None-Match`).

        The submission may be any one of the record's: a record's links name the submission that made
        it, and the newest file of that name sent for the record answers. A file answering a field
        marked sensitive is 403 without the `pii` flag."""
        access = await member(db, project, user, Action.READ)
        check_name(filename)
        row = await attachments.one(db, access.id, submission, filename)
        if row is None:
            row = await attachments.of_record(db, access.id, submission, filename)
        if row is None:
            raise NotFound(f"No file {filename!r} of submission {submission!r}.")
        await refuse_sensitive(db, access, request, row)
        tag = f'"{row.sha256}"'
        headers = {
            "ETag": tag,
            "Cache-Control": "private, no-cache",
            "Content-Disposition": disposition(row.filename),
            "X-Content-Type-Options": "nosniff",  # a file is never run as a page of this site
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(b"", status_code=304, headers=headers)
        data = await request.app.state.media.get(row.sha256)
        if data is None:
            raise NotFound(f"The bytes of {filename!r} are missing from the media store.")
        return Response(data, media_type=row.content_type, headers=headers)

    @get("/")
    async def listing(
        self, project: FromPath[str], submission: FromPath[str], request: Request, db: DB, user: Caller
    ) -> AttachmentList:
        """The files a submission sent, by name (sensitive ones listed too; reading them needs `pii`)."""
        access = await member(db, project, user, Action.READ)
        if await attachments.submission(db, access.id, submission) is None:
            raise NotFound(f"No submission {submission!r} was received in {project!r}.")
        rows = await attachments.listing(db, access.id, [submission])
        return AttachmentList(
            items=[
                AttachmentOut(
                    filename=r.filename,
                    field=r.field,
                    content_type=r.content_type,
                    size=r.size,
                    sha256=r.sha256,
                    url=path_of(access.slug, submission, r.filename),
                )
                for r in rows
            ]
        )


async def refuse_sensitive(
    db: DB, access: ProjectAccess, request: Request, row: attachments.Attachment
) -> None:
    """403 when the file answers a sensitive field and the caller may not see personal data."""
    if access.pii:
        return
    sent = await attachments.submission(db, access.id, row.submission_uuid)
    if sent is None or sent.form_key is None or sent.form_version is None:
        return
    form = await forms.form(db, access.id, sent.form_key)
    version = await forms.version(db, form.id, sent.form_version) if form else None
    if version is None:
        return
    hidden = request.app.state.validators.get(version, access.timezone).sensitive_paths
    field = row.field or field_of(
        await attachments.answers_of(db, access.id, row.submission_uuid), row.filename
    )
    if field is not None and field in hidden:
        raise Forbidden(
            f"{row.filename!r} answers {field!r}, a sensitive field; you may not see personal data."
        )


def disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real one (RFC 6266, RFC 8187)."""
    fallback = _ASCII_NAME.sub("_", filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
