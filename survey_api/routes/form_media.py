"""Files attached to a form version: the CSV or GeoJSON lists its selects read, and other media."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath

from forms.choice_lists import is_list_file, list_files, read_list_file
from forms.errors import Problem
from forms.model import load_definition
from survey_api.db.session import DB
from survey_api.errors import Conflict, Invalid, UnsupportedMedia
from survey_api.routes.forms import can_manage, require_version
from survey_api.stores import form_media, projects
from survey_api.web import openapi
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller

MAX_NAME = 255
_BAD_NAME = re.compile(r"[/\\\x00-\x1f]")


class MediaFile(msgspec.Struct, frozen=True, kw_only=True):
    """One file a version has or needs; `expected`: a select of the form lists its choices in it."""

    name: str
    expected: bool
    attached: bool
    media_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    choices: int | None = None
    attached_at: datetime | None = None


class MediaList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[MediaFile]
    missing: list[str]


class FormMediaController(Controller):
    path = "/projects/{project:str}/forms/{key:str}/versions/{version:str}/media"
    tags = ["forms"]

    @post("/", status_code=201, opt={"request_body": openapi.MEDIA_BODY, "problems": (409,)})
    async def attach(
        self,
        project: FromPath[str],
        key: FromPath[str],
        version: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
    ) -> MediaFile:
        """Attach a file to a draft version by its name (multipart field `file`); the same name replaces it.

        A `.csv` list needs a `name` column (its choice values) and may have `label` or
        `label::Lang (xx)`; a `.geojson` list takes each feature's `id` and `properties.title`. A list
        that cannot be read is a 422 locating the problem (file, row). A published version's files
        cannot change (409). Publishing waits until every list the form's selects name is attached."""
        access = await member(db, project, user, Action.MANAGE)
        row = await require_version(db, access.id, key, version, drafts=True)
        if row.status == "published":
            raise Conflict(f"Version {version!r} of {key!r} is published; its files cannot change.")
        name, data, media = await read_file(request)
        count = len(read_list_file(name, data)) if is_list_file(name) else None
        found = await form_media.put(
            db,
            row.id,
            name=name,
            data=data,
            media_type=media,
            sha256=hashlib.sha256(data).hexdigest(),
            user_id=user.id,
        )
        await projects.audit(
            db, action="form.media", user_id=user.id, project_id=access.id, target=f"{key}@{version}/{name}"
        )
        expected = name in list_files(load_definition(row.definition))
        return MediaFile(
            name=found.name,
            expected=expected,
            attached=True,
            media_type=found.media_type,
            size=found.size,
            sha256=found.sha256,
            choices=count,
            attached_at=found.created_at,
        )

    @get("/")
    async def listing(
        self, project: FromPath[str], key: FromPath[str], version: FromPath[str], db: DB, user: Caller
    ) -> MediaList:
        """The files a version has and those it still needs (`missing` blocks publishing)."""
        access = await member(db, project, user, Action.READ_FORMS)
        row = await require_version(db, access.id, key, version, drafts=can_manage(access))
        expected = list_files(load_definition(row.definition))
        attached = {m.name: m for m in await form_media.listing(db, row.id)}
        items = [
            MediaFile(
                name=name,
                expected=name in expected,
                attached=m is not None,
                media_type=m.media_type if m else None,
                size=m.size if m else None,
                sha256=m.sha256 if m else None,
                attached_at=m.created_at if m else None,
            )
            for name in sorted({*expected, *attached})
            for m in [attached.get(name)]
        ]
        return MediaList(items=items, missing=[n for n in expected if n not in attached])


async def read_file(request: Request) -> tuple[str, bytes, str]:
    """The multipart field `file`: its name (without any folder), bytes and media type."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise UnsupportedMedia(f"Send the file as multipart/form-data (field 'file'), not {media!r}.")
    upload = (await request.form()).get("file")
    if upload is None or isinstance(upload, str):
        raise Invalid(
            "Send the file as the multipart field 'file'.",
            [Problem(loc=["body", "file"], code="missing_file", message="no file field")],
        )
    name = re.split(r"[/\\]", upload.filename or "")[-1].strip()
    if not name or len(name) > MAX_NAME or _BAD_NAME.search(name) or name in (".", ".."):
        raise Invalid(
            "A file needs a name: the one the form refers to.",
            [
                Problem(
                    loc=["body", "file"], code="bad_file_name", message=f"file name {name!r} is not usable"
                )
            ],
        )
    return name, await upload.read(), upload.content_type or "application/octet-stream"
