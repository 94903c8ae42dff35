"""Forms: upload (JSON or XLSForm), publish, serve to tablets, diff, duplicate policy."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from forms import diff as form_diff
from forms.checks import check_policy, check_renames
from forms.choice_lists import list_files, with_list_files
from forms.decoding import decode_checked
from forms.errors import InvalidDefinition, Problem
from forms.model import DedupPolicy, FormDefinition, definition_hash, load_definition
from forms.xlsform import XLS_MAGIC, load_xlsform
from survey_api.db import tables
from survey_api.db.session import DB
from survey_api.errors import Conflict, Invalid, NotFound, UnsupportedMedia
from survey_api.openrosa import xforms
from survey_api.stores import form_media, forms, projects
from survey_api.web import openapi
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller
from survey_api.web.media import respond

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
XLSX_TYPES = (XLSX, "application/octet-stream")
WORKBOOK_MEDIA = {XLSX: openapi.XLSFORM_BYTES, XLS: openapi.XLSFORM_BYTES}


class Upload(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload gave: the definition, its warnings, and the XLSForm with its media type if any."""

    definition: FormDefinition
    warnings: list[str]
    workbook: tuple[bytes, str] | None = None


class VersionOut(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    version: str
    status: str
    hash: str
    warnings: list[str]
    created_at: datetime | None = None
    published_at: datetime | None = None


class CatalogueItem(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    title: Any
    version: str
    hash: str
    published_at: datetime | None


class Catalogue(msgspec.Struct, frozen=True, kw_only=True):
    items: list[CatalogueItem]


class VersionList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[VersionOut]


def version_out(key: str, row: tables.FormVersion) -> VersionOut:
    return VersionOut(
        key=key,
        version=row.version,
        status=row.status,
        hash=row.hash,
        warnings=list(row.warnings or []),
        created_at=row.created_at,
        published_at=row.published_at,
    )


class FormController(Controller):
    path = "/projects/{project:str}/forms"
    tags = ["forms"]

    @post("/", status_code=201, opt={"request_body": openapi.FORM_BODY, "problems": (409,)})
    async def upload(self, project: FromPath[str], request: Request, db: DB, user: Caller) -> VersionOut:
        """Add a draft version from a JSON definition or an XLSForm (`multipart/form-data`, field `file`).

        An XLSForm may be `.xlsx` or `.xls`. Without `form_id` in settings the key is the file's name;
        without `version`, the upload time (`YYYYMMDDHHMM`, UTC); `warnings` says which was used.
        Every problem is listed in one 422, located by sheet, row and column for XLSForm. A draft with
        the same version string is replaced; a published version string cannot be reused (409).
        """
        access = await member(db, project, user, Action.MANAGE)
        upload = await read_definition(request)
        definition, warnings = upload.definition, upload.warnings
        form = await forms.form_for_update(db, access.id, definition.key)
        existing = await forms.version(db, form.id, definition.version)
        if existing is not None and existing.status == "published":
            raise Conflict(
                f"Version {definition.version!r} of {definition.key!r} is published and cannot change; "
                "upload it under a new version string."
            )
        previous = [
            load_definition(v.definition)
            for v in await forms.versions(db, form.id, published_only=True)
            if v.version != definition.version
        ]
        if problems := check_renames(definition, previous):
            raise InvalidDefinition(problems, warnings)
        row = await forms.put_draft(
            db,
            form.id,
            name=definition.version,
            definition=msgspec.to_builtins(definition),
            hash_=definition_hash(definition),
            warnings=warnings,
            user_id=user.id,
            workbook=upload.workbook,
        )
        await projects.audit(
            db,
            action="form.upload",
            user_id=user.id,
            project_id=access.id,
            target=f"{definition.key}@{row.version}",
        )
        return version_out(definition.key, row)

    @post("/{key:str}/versions/{version:str}/publish", status_code=200)
    async def publish(
        self, project: FromPath[str], key: FromPath[str], version: FromPath[str], db: DB, user: Caller
    ) -> VersionOut:
        """Publish a draft: from now on it never changes, and tablets download it as the latest.

        The choices of each list file its selects name (`select_one_from_file x.csv`) are read into
        the published definition; 422 names every such file not attached yet (`POST .../media`).
        Its XForm (for ODK Collect, KoboCollect, Enketo) is made now and kept byte for byte; a form
        pyxform cannot compile is published all the same, with a warning saying why it is not
        offered to those apps."""
        access = await member(db, project, user, Action.MANAGE)
        form = await forms.form(db, access.id, key, lock=True)
        row = await forms.version(db, form.id, version) if form else None
        if form is None or row is None:
            raise NotFound(f"No version {version!r} of form {key!r}.")
        if row.status != "published":
            draft = load_definition(row.definition)
            files = await form_media.contents(db, row.id, list_files(draft))
            if (definition := with_list_files(draft, files)) is not draft:
                row.definition, row.hash = msgspec.to_builtins(definition), definition_hash(definition)
            if warning := await xforms.publish_warning(db, row):
                row.warnings = [*(row.warnings or []), warning]
            row.published_at = await forms.publish(db, row)
            row.status = "published"
            await projects.audit(
                db, action="form.publish", user_id=user.id, project_id=access.id, target=f"{key}@{version}"
            )
        return version_out(key, row)

    @get("/", opt={"response_model": Catalogue, "etag": True})
    async def catalogue(
        self, project: FromPath[str], request: Request, db: DB, user: Caller
    ) -> Response[bytes]:
        """The latest published version of every form: small, cacheable (`ETag`, 304), MessagePack on request."""
        access = await member(db, project, user, Action.READ_FORMS)
        items = [
            CatalogueItem(
                key=key,
                title=row.definition.get("title"),
                version=row.version,
                hash=row.hash,
                published_at=row.published_at,
            )
            for key, row in await forms.catalogue(db, access.id)
        ]
        return cached(request, Catalogue(items=items))

    @get("/{key:str}", opt={"response_model": FormDefinition, "etag": True})
    async def latest(
        self, project: FromPath[str], key: FromPath[str], request: Request, db: DB, user: Caller
    ) -> Response[bytes]:
        """The latest published definition of a form, as tablets download it."""
        access = await member(db, project, user, Action.READ_FORMS)
        form = await forms.form(db, access.id, key)
        row = await forms.latest_published(db, form.id) if form else None
        if row is None:
            raise NotFound(f"Form {key!r} has no published version.")
        return cached(request, row.definition)

    @get("/{key:str}/versions")
    async def versions(self, project: FromPath[str], key: FromPath[str], db: DB, user: Caller) -> VersionList:
        """Every version of a form, oldest first; drafts only for those who manage forms."""
        access = await member(db, project, user, Action.READ_FORMS)
        form = await require_form(db, access.id, key)
        rows = await forms.versions(db, form.id, published_only=not can_manage(access))
        return VersionList(items=[version_out(key, r) for r in rows])

    @get("/{key:str}/versions/{version:str}", opt={"response_model": FormDefinition, "etag": True})
    async def one_version(
        self,
        project: FromPath[str],
        key: FromPath[str],
        version: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
    ) -> Response[bytes]:
        """One version's definition (a draft only for those who manage forms)."""
        access = await member(db, project, user, Action.READ_FORMS)
        row = await require_version(db, access.id, key, version, drafts=can_manage(access))
        return cached(request, row.definition)

    @get("/{key:str}/versions/{version:str}/xlsform", opt={"download": WORKBOOK_MEDIA})
    async def xlsform(
        self, project: FromPath[str], key: FromPath[str], version: FromPath[str], db: DB, user: Caller
    ) -> Response[bytes]:
        """The XLSForm workbook this version was uploaded as, byte for byte (`.xlsx` or `.xls`).

        404 for a version uploaded as a JSON definition. A draft only for those who manage forms."""
        access = await member(db, project, user, Action.READ_FORMS)
        row = await require_version(db, access.id, key, version, drafts=can_manage(access))
        found = await forms.workbook(db, row.id)
        if found is None:
            raise NotFound(f"Version {version!r} of form {key!r} was uploaded as JSON, not as an XLSForm.")
        data, media = found
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{key}-{version}") + (".xls" if media == XLS else ".xlsx")
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private"},
        )

    @get("/{key:str}/diff")
    async def diff(
        self,
        project: FromPath[str],
        key: FromPath[str],
        db: DB,
        user: Caller,
        old: Annotated[str, QueryParameter(name="from", description="the older version")],
        new: Annotated[str, QueryParameter(name="to", description="the newer version")],
    ) -> form_diff.FormDiff:
        """What changed between two versions, by field path: added, removed, changed (and how)."""
        access = await member(db, project, user, Action.READ_FORMS)
        drafts = can_manage(access)
        before = await require_version(db, access.id, key, old, drafts=drafts)
        after = await require_version(db, access.id, key, new, drafts=drafts)
        return form_diff.diff(load_definition(before.definition), load_definition(after.definition))

    @put("/{key:str}/dedup", status_code=200)
    async def put_policy(
        self, project: FromPath[str], key: FromPath[str], data: JSONBody[DedupPolicy], db: DB, user: Caller
    ) -> dict[str, Any]:
        """Set the form's duplicate policy; it applies to submissions received from now on.

        Checked against the form's newest version: fields that exist, a geopoint location, known
        survivorship rules, 0 <= review_score <= auto_merge_score <= 1, a positive radius and window.
        `POST .../dedup/rescan` applies it to the records already stored."""
        access = await member(db, project, user, Action.MANAGE)
        form = await require_form(db, access.id, key)
        newest = (await forms.versions(db, form.id, published_only=False))[-1]
        if problems := check_policy(msgspec.structs.replace(load_definition(newest.definition), dedup=data)):
            raise InvalidDefinition(problems)
        policy = msgspec.structs.asdict(data)
        await forms.set_policy(db, form.id, policy)
        await projects.audit(
            db,
            action="form.dedup_policy",
            user_id=user.id,
            project_id=access.id,
            target=key,
            detail=policy,
        )
        return policy


def can_manage(access: Any) -> bool:
    return access.user.admin or access.role == "coordinator"


async def require_form(db: Any, project_id: Any, key: str) -> tables.Form:
    form = await forms.form(db, project_id, key)
    if form is None:
        raise NotFound(f"No form {key!r} in this project.")
    return form


async def require_version(
    db: Any, project_id: Any, key: str, version: str, *, drafts: bool
) -> tables.FormVersion:
    form = await require_form(db, project_id, key)
    row = await forms.version(db, form.id, version)
    if row is None or (row.status != "published" and not drafts):
        raise NotFound(f"No version {version!r} of form {key!r}.")
    return row


def cached(request: Request, body: Any) -> Response[bytes]:
    """Answer 304 when the client already has this exact body (strong ETag over the JSON)."""
    tag = '"' + hashlib.sha256(msgspec.json.encode(body)).hexdigest()[:32] + '"'
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(b"", status_code=304, headers={"ETag": tag, "Vary": "Accept"})
    return respond(request, body, headers={"ETag": tag, "Cache-Control": "private, no-cache"})


async def read_definition(request: Request) -> Upload:
    """A definition from the request body: JSON, or an XLSForm upload (kept with it)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid(
                "Send the XLSForm as the multipart field 'file'.",
                [Problem(loc=["body", "file"], code="missing_file", message="no file field")],
            )
        return from_workbook(await upload.read(), upload.filename)
    if media in XLSX_TYPES:
        return from_workbook(await request.body(), None)
    if media not in ("application/json", ""):
        raise UnsupportedMedia(
            f"Send a form as application/json or an XLSForm as multipart/form-data, not {media!r}."
        )
    raw = await request.json()  # the app's GuardedRequest: no NUL, not nested too deeply
    if not isinstance(raw, dict):
        raise Invalid(
            "A form definition is a JSON object.",
            [Problem(loc=["body"], code="not_an_object", message="expected an object")],
        )
    definition, warnings = decode_checked(raw)
    return Upload(definition=definition, warnings=warnings)


def from_workbook(data: bytes, filename: str | None) -> Upload:
    definition, warnings = load_xlsform(data, filename)
    media = XLS if data[:8] == XLS_MAGIC else XLSX
    return Upload(definition=definition, warnings=warnings, workbook=(data, media))
