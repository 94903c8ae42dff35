"""OpenRosa, the protocol of ODK Collect, KoboCollect and Enketo, beside the JSON API.

Two roots serve the same handlers: `/openrosa/key/{token}/projects/{project}` (a tablet's token in
the server URL, as ODK Central's app users) and `/openrosa/projects/{project}` (HTTP Basic, over
HTTPS only). Every answer is XML with `X-OpenRosa-Version: 1.0`, errors included, since Collect
shows the `<message>` of whatever it gets.
"""

from __future__ import annotations

import re

from litestar import Request, Response, get, head, post
from litestar.datastructures import UploadFile

from survey_api.db.session import unit_of_work
from survey_api.errors import (
    ApiError,
    Conflict,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)
from survey_api.openrosa import catalogue, documents
from survey_api.openrosa.callers import REALM, Challenge, tablet
from survey_api.openrosa.submissions import INCOMPLETE, XML_PART, File, receive
from survey_api.web.access import ProjectAccess

KEY_ROOT = "/openrosa/key/{token:str}/projects/{project:str}"
BASIC_ROOT = "/openrosa/projects/{project:str}"
STATUS = {
    Malformed: 400,
    Invalid: 400,
    UnsupportedMedia: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unavailable: 503,
}
OPT = {"public": True}


def _paths(tail: str) -> list[str]:
    return [KEY_ROOT + tail, BASIC_ROOT + tail]


async def _tablet(request: Request) -> ProjectAccess:
    params = request.path_params
    return await tablet(request, params.get("token"), params["project"])


def _base(request: Request) -> str:
    """The project's OpenRosa root as the tablet reached it (the scheme a proxy says it was)."""
    token, project = request.path_params.get("token"), request.path_params["project"]
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    scheme = forwarded if forwarded in ("http", "https") else request.url.scheme
    origin = f"{scheme}://{request.url.netloc}"
    root = (
        f"/openrosa/key/{token}/projects/{project}" if token is not None else f"/openrosa/projects/{project}"
    )
    return origin + root


def _failed(exc: ApiError) -> Response[bytes]:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    extra = {"WWW-Authenticate": REALM} if isinstance(exc, Challenge) else None
    return documents.xml_response(documents.submission_response(exc.detail, "error"), status, extra)


@get(_paths("/formList"), opt=OPT, include_in_schema=False, name="openrosa-form-list")
async def form_list(request: Request) -> Response[bytes]:
    """The xformsList of the forms the caller may fill; an empty list is a 200."""
    try:
        access = await _tablet(request)
        only = request.query_params.get("formID")
        async with unit_of_work(request.app.state.sessionmaker) as db:
            forms = await catalogue.listed(db, access, _base(request), only)
    except ApiError as exc:
        return _failed(exc)
    return documents.xml_response(documents.form_list(forms))


@get(_paths("/forms/{filename:str}"), opt=OPT, include_in_schema=False, name="openrosa-xform")
async def xform(request: Request) -> Response[bytes]:
    """The stored XForm bytes of a form's latest published version (`{key}.xml`)."""
    try:
        filename = request.path_params["filename"]
        if not filename.endswith(".xml"):
            raise NotFound("Forms are fetched as {key}.xml.")
        access = await _tablet(request)
        async with unit_of_work(request.app.state.sessionmaker) as db:
            data = await catalogue.xform(db, access, filename.removesuffix(".xml"))
    except ApiError as exc:
        return _failed(exc)
    return Response(data, media_type=documents.XML_TYPE, headers=documents.headers())


@get(_paths("/forms/{key:str}/manifest"), opt=OPT, include_in_schema=False, name="openrosa-manifest")
async def manifest(request: Request) -> Response[bytes]:
    """The form's media files (images, CSV lists), an empty `<manifest/>` when it has none."""
    try:
        access = await _tablet(request)
        key = request.path_params["key"]
        async with unit_of_work(request.app.state.sessionmaker) as db:
            files = await catalogue.manifest(db, access, key, _base(request))
    except ApiError as exc:
        return _failed(exc)
    return documents.xml_response(documents.manifest(files))


@get(_paths("/forms/{key:str}/media/{name:str}"), opt=OPT, include_in_schema=False, name="openrosa-media")
async def media(request: Request) -> Response[bytes]:
    """A file of the form's manifest."""
    try:
        access = await _tablet(request)
        key, name = request.path_params["key"], request.path_params["name"]
        async with unit_of_work(request.app.state.sessionmaker) as db:
            data, media_type = await catalogue.media_file(db, access, key, name)
    except ApiError as exc:
        return _failed(exc)
    return Response(data, media_type=media_type, headers=documents.headers())


@head(_paths("/submission"), opt=OPT, include_in_schema=False, name="openrosa-submission-head")
async def submission_head(request: Request) -> Response[None]:
    """204 with the largest POST the server takes: Collect splits bigger submissions to fit it."""
    try:
        await _tablet(request)
    except ApiError as exc:
        failed = _failed(exc)
        return Response(None, status_code=failed.status_code, headers=dict(failed.headers))
    # Collect fits its files under this number; the multipart framing and the XML it repeats in every
    # part of a split upload come on top, so the number leaves 5% of the body limit for them.
    limit = str(request.app.state.settings.max_body_bytes * 95 // 100)
    return Response(
        None, status_code=204, headers={**documents.headers(), "X-OpenRosa-Accept-Content-Length": limit}
    )


@post(_paths("/submission"), opt=OPT, include_in_schema=False, name="openrosa-submission")
async def submission(request: Request) -> Response[bytes]:
    """One XML instance (`xml_submission_file`) and its files: 201 stored, 202 resent, 409 reused id."""
    try:
        access = await _tablet(request)
        xml, files = await _parts(request)
        outcome = await receive(request, access, xml, files, request.headers.get("accept-language"))
    except ApiError as exc:
        return _failed(exc)
    nature = "error" if outcome.status == 409 else "submit_success"
    return documents.xml_response(documents.submission_response(outcome.message, nature), outcome.status)


async def _parts(request: Request) -> tuple[bytes, list[File]]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise Malformed(
            f"Send multipart/form-data with the part {XML_PART!r}, not {media or 'no content type'!r}."
        )
    form = await request.form()
    xml: bytes | None = None
    files = []
    for name, value in form.multi_items():
        if name == INCOMPLETE:
            continue
        if name == XML_PART:
            xml = await value.read() if isinstance(value, UploadFile) else str(value).encode()
        elif isinstance(value, UploadFile):
            filename = re.split(r"[/\\]", value.filename or name)[-1]
            files.append(
                File(
                    name=filename,
                    content_type=value.content_type or "application/octet-stream",
                    data=await value.read(),
                )
            )
    if xml is None:
        raise Malformed(f"The submission has no {XML_PART!r} part: nothing to store.")
    return xml, files


OPENROSA_HANDLERS = [form_list, xform, manifest, media, submission_head, submission]
