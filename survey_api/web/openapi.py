"""The OpenAPI document as the server behaves, and the interactive page at /schema without a CDN.

Litestar documents what a handler's signature says. Some of ours read their body themselves (a sync
batch is streamed under size limits; a form is JSON or an XLSForm upload), answer JSON or
MessagePack bytes, and every error is an RFC 9457 problem document made by `problems.py`. So each
operation is finished here, once the routes are known, from what its handler declares in `opt`:

- `request_body`: {media type: Struct or JSON Schema} of a body the handler reads itself;
- `response_model`: the Struct of a success sent as JSON or MessagePack (`media.respond`);
- `download`: {media type: JSON Schema} of a success that is a file (`Content-Disposition`);
- `problems`: error statuses beyond those its kind of operation answers anyway (`error_statuses`);
- `etag`: answers 304 to a matching `If-None-Match`;
- `public`: no token (the auth middleware reads the same flag).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.router import Router
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from forms.model import FormDefinition
from survey_api.web.media import JSON, MSGPACK
from survey_api.web.problems import MEDIA_TYPE as PROBLEM_MEDIA
from survey_api.web.problems import ProblemDocument
from sync.batch import MAX_ITEMS, SubmissionIn

REF = "#/components/schemas/{name}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ASSETS = "/schema/static"  # where the Swagger UI files of the `swagger-ui-bundle-v2` wheel are served

ERRORS = {
    400: "Malformed: the body, a parameter or a cursor cannot be read.",
    401: "No token, or an unknown or revoked one (`WWW-Authenticate: Bearer`).",
    403: "The caller's role in the project does not allow this.",
    404: "No such project, form, record or other thing, as far as the caller may know.",
    409: "Stale or conflicting state: someone else got there first, or it cannot change any more.",
    413: "Over the size limit of a body (`SURVEY_MAX_BODY_MB`, also once inflated) or of a batch.",
    415: "A media type or `Content-Encoding` this operation does not speak.",
    422: "Well-formed but invalid; `errors` locates every problem.",
    502: "The city database refused the login, a privilege or a statement (nothing was written there).",
    503: "The server cannot take this now (nothing was stored); send the same request again.",
}


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """Submissions made offline. Each item is judged on its own: one bad item never costs the others."""

    device_id: str | None = None
    sent_at: datetime | None = None
    submissions: Annotated[list[SubmissionIn], msgspec.Meta(max_length=MAX_ITEMS)]


FORM_EXAMPLE: dict[str, Any] = {
    "key": "sidewalk_audit",
    "version": "2026-11-20",
    "title": {"th": "สำรวจทางเท้า", "en": "Sidewalk audit"},
    "default_language": "th",
    "fields": [
        {"name": "location", "type": "geopoint", "required": True, "label": {"en": "Location"}},
        {"name": "shop_name", "type": "text", "label": {"th": "ชื่อร้าน", "en": "Shop name"}},
        {"name": "surface", "type": "select_one", "choices": "surface", "label": {"en": "Surface"}},
        {"name": "width_m", "type": "decimal", "constraint": ". >= 0 and . <= 20"},
        {"name": "owner_phone", "type": "text", "sensitive": True},
        {
            "name": "trees",
            "type": "repeat",
            "fields": [{"name": "species", "type": "text"}, {"name": "girth_cm", "type": "integer"}],
        },
    ],
    "choices": {"surface": [{"value": "concrete", "label": {"th": "คอนกรีต", "en": "Concrete"}}]},
    "dedup": {"radius_m": 20, "match_fields": ["shop_name"]},
}

BATCH_EXAMPLE: dict[str, Any] = {
    "device_id": "tablet-07",
    "sent_at": "2026-11-20T17:00:00+07:00",
    "submissions": [
        {
            "uuid": "3f0c6c1e-5b7d-4f1e-9a51-2b1f0f7c9e01",
            "form": "sidewalk_audit",
            "version": "2026-11-20",
            "record_id": None,
            "base_revision": None,
            "started_at": "2026-11-20T09:12:00+07:00",
            "ended_at": "2026-11-20T09:15:30+07:00",
            "answers": {
                "location": {"lat": 14.9730, "lon": 102.0836, "alt": 182.0, "accuracy": 4.0},
                "shop_name": "ร้านข้าวแกงป้าศรี",
                "surface": "concrete",
                "width_m": 1.8,
                "trees": [{"species": "ต้นหูกวาง", "girth_cm": 95}],
            },
        }
    ],
}

EXAMPLES: dict[type, Any] = {Batch: BATCH_EXAMPLE, FormDefinition: FORM_EXAMPLE}
"""Shown on the page, tried first by the fuzzer; `tests/e2e/schemathesis_run.py` publishes the form."""

XLSFORM_UPLOAD = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "an XLSForm (.xlsx or .xls); without form_id in settings its file name is the form key",
        }
    },
    "required": ["file"],
}
XLSFORM_BYTES = {"type": "string", "format": "binary"}
MEDIA_UPLOAD = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "the file, under the name the form uses (`select_one_from_file shops.csv`: shops.csv); "
            "a .csv list has a `name` column and `label` or `label::Lang (xx)`",
        }
    },
    "required": ["file"],
}
MEDIA_BODY: dict[str, Any] = {"multipart/form-data": MEDIA_UPLOAD}
"""A file attached to a form version: the multipart field `file`, named as the form names it."""

SYNC_BODY: dict[str, Any] = {JSON: Batch, MSGPACK: Batch}
"""A sync push: the same batch as JSON or MessagePack; either may be sent with `Content-Encoding: gzip`."""

FORM_BODY: dict[str, Any] = {
    JSON: FormDefinition,
    "multipart/form-data": XLSFORM_UPLOAD,
    XLSX: XLSFORM_BYTES,
}
"""A form upload: a definition as JSON, or an XLSForm as the multipart field `file` or as the body."""


def config() -> OpenAPIConfig:
    return DocumentConfig(
        title="survey-api",
        version="1",
        description=(
            "Versioned survey forms, offline batched sync, duplicates and clean exports for city surveys. "
            "Every error is an RFC 9457 problem document (`application/problem+json`)."
        ),
        path="/schema",
        render_plugins=[LocalSwagger()],
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        security=[{"bearer": []}],
        use_handler_docstrings=True,
    )


def describe(app: Litestar) -> None:
    """Give each of the app's handlers an operation that finishes itself from the handler's `opt`.

    The app holds its own copies of the handlers, so this changes nothing outside it.
    """
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                handler.operation_class = functools.partial(Described, handler=handler)  # type: ignore[assignment]


@dataclass
class Described(Operation):
    """An operation that knows its handler, so that `finish` can read the handler's `opt`."""

    handler: HTTPRouteHandler | None = field(default=None, repr=False)

    @property
    def _exclude_fields(self) -> set[str]:
        return {"handler"}


@dataclass
class DocumentConfig(OpenAPIConfig):
    """Litestar's config, building a `Document` instead of a plain `OpenAPI`."""

    def to_openapi_schema(self) -> OpenAPI:
        made = super().to_openapi_schema()
        return Document(**{f.name: getattr(made, f.name) for f in fields(made)})


@dataclass
class Document(OpenAPI):
    """Litestar builds paths and components into this; it finishes the operations when written out."""

    def to_schema(self) -> dict[str, Any]:
        types: set[Any] = {ProblemDocument}
        for op in operations(self):
            if op.handler is not None:
                finish(op, op.handler)
                types.update(referenced(op.handler))
        add_components(self, types)
        return super().to_schema()


def operations(doc: OpenAPI) -> list[Described]:
    found = []
    for item in (doc.paths or {}).values():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            op = getattr(item, method, None)
            if isinstance(op, Described):
                found.append(op)
    return found


def finish(op: Described, handler: HTTPRouteHandler) -> None:
    """Body, success and errors of one operation as the handler behaves (idempotent)."""
    opt = handler.opt
    if opt.get("public"):
        op.security = []
    if body := opt.get("request_body"):
        op.request_body = RequestBody(
            content={media: media_type(kind) for media, kind in body.items()},
            required=True,
        )
    declared = {str(status) for status in handler.responses or {}}
    responses = {
        code: response
        for code, response in (op.responses or {}).items()
        if int(code) < 400 or code in declared  # Litestar's own error shape is not what we send
    }
    if model := opt.get("response_model"):
        success = responses.get(str(handler.status_code))
        responses[str(handler.status_code)] = OpenAPIResponse(
            description=success.description if isinstance(success, OpenAPIResponse) else "OK",
            headers=success.headers if isinstance(success, OpenAPIResponse) else None,
            content={
                JSON: OpenAPIMediaType(schema=schema_of(model)),
                MSGPACK: OpenAPIMediaType(schema=schema_of(model)),
            },
        )
    if download := opt.get("download"):
        responses[str(handler.status_code)] = OpenAPIResponse(
            description="The file, named in `Content-Disposition`.",
            headers={
                "Content-Disposition": OpenAPIHeader(
                    schema=Schema(type="string"),  # type: ignore[arg-type]
                    description='`attachment; filename="..."`',
                )
            },
            content={media: OpenAPIMediaType(schema=schema) for media, schema in download.items()},
        )
    if opt.get("etag"):
        responses["304"] = OpenAPIResponse(description="The client's copy (`If-None-Match`) is current.")
        if not any(getattr(p, "name", None) == "If-None-Match" for p in op.parameters or []):
            op.parameters = [
                *(op.parameters or []),
                Parameter(
                    name="If-None-Match",
                    param_in="header",
                    required=False,
                    schema=Schema(type="string"),  # type: ignore[arg-type]
                    description="The `ETag` of the copy the client has.",
                ),
            ]
    for status in error_statuses(op, handler):
        if str(status) not in declared:
            responses[str(status)] = OpenAPIResponse(
                description=ERRORS[status],
                content={PROBLEM_MEDIA: OpenAPIMediaType(schema=schema_of(ProblemDocument))},
            )
    op.responses = dict(sorted(responses.items()))


def error_statuses(op: Operation, handler: HTTPRouteHandler) -> list[int]:
    """What an operation of this kind answers, by what it takes, plus what its handler declares."""
    opt = handler.opt
    params = [p for p in op.parameters or [] if isinstance(p, Parameter)]
    statuses = set(opt.get("problems", ()))
    if not opt.get("public"):
        statuses.add(401)
    if any(p.param_in == "path" and p.name == "project" for p in params):
        statuses.add(403)  # `access.member`: the caller's role
    if any(p.param_in == "path" for p in params):
        statuses.add(404)
    if any(p.param_in in ("path", "query") for p in params) or op.request_body is not None:
        statuses.update((400, 422))  # a parameter or body that cannot be read, or does not fit
    if op.request_body is not None:
        statuses.add(413)  # the app's body size limit
    if opt.get("request_body"):
        statuses.add(415)  # the handler reads the media type itself
    return sorted(statuses)


def referenced(handler: HTTPRouteHandler) -> list[Any]:
    """The Structs an operation's finished body and success refer to."""
    kinds = list(handler.opt.get("request_body", {}).values())
    if model := handler.opt.get("response_model"):
        kinds.append(model)
    return [k for k in kinds if isinstance(k, type)]


def media_type(kind: Any) -> OpenAPIMediaType:
    example = EXAMPLES.get(kind) if isinstance(kind, type) else None
    examples = {kind.__name__: Example(value=example)} if example is not None else None
    return OpenAPIMediaType(schema=schema_of(kind), examples=examples)


def schema_of(kind: Any) -> Reference | dict[str, Any]:
    if isinstance(kind, dict):
        return kind
    return Reference(ref=REF.format(name=kind.__name__))


def add_components(doc: OpenAPI, types: set[Any]) -> None:
    """Component schemas of `types` (msgspec's JSON Schema is OpenAPI 3.1's) where Litestar made none.

    A name Litestar already uses is kept: it is the same Struct, reached from a handler's signature
    (two Structs of one name with other fields would make a wrong document, so that fails loudly).
    """
    ordered = sorted(types, key=lambda t: t.__name__)
    _, components = msgspec.json.schema_components(ordered, ref_template=REF)
    schemas = doc.components.schemas if doc.components.schemas is not None else {}
    for name, schema in components.items():
        existing = schemas.setdefault(name, schema)
        fields_ = set(schema.get("properties", {}))
        if isinstance(existing, Schema) and set(existing.properties or {}) != fields_:
            raise RuntimeError(f"Two different schemas are named {name!r}; rename one of the Structs.")
    doc.components.schemas = dict(sorted(schemas.items()))


class LocalSwagger(SwaggerRenderPlugin):
    """Swagger UI from a pip package (`swagger-ui-bundle-v2`), served by this server: the page works
    where there is no internet, as in city offices and at field sites."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            path="/swagger",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(
            create_static_files_router(
                path=ASSETS.removeprefix("/schema"),
                directories=[Path(str(swagger_ui_path))],
                name="swagger-ui-assets",
                include_in_schema=False,
            )
        )
