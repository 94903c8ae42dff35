"""RFC 9457 problem documents: the one table from errors to statuses, and the handlers that use it."""

from __future__ import annotations

import logging

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from forms.errors import FormsError, Problem
from survey_api import errors
from sync import errors as sync_errors
from sync.errors import SyncError

log = logging.getLogger("survey_api")

MEDIA_TYPE = "application/problem+json"
UNEXPECTED = "The server could not complete this request; it has been logged."  # a bug's detail

# The error bases of our own code; each declares its located problems as `problems`.
OURS = (errors.ApiError, FormsError, SyncError)

# Most specific first: the first class an error is an instance of decides.
STATUSES: list[tuple[type[Exception], int, str]] = [
    (errors.Malformed, 400, "Malformed request"),
    (errors.Unauthenticated, 401, "Not authenticated"),
    (errors.Forbidden, 403, "Not allowed"),
    (errors.NotFound, 404, "Not found"),
    (errors.Conflict, 409, "Conflict"),
    (errors.TooLarge, 413, "Too large"),
    (errors.UnsupportedMedia, 415, "Unsupported media type"),
    (errors.Invalid, 422, "Invalid"),
    (errors.BadGateway, 502, "Bad gateway"),
    (errors.Unavailable, 503, "Service unavailable"),
    (FormsError, 422, "Invalid form"),
    (sync_errors.TooManyItems, 413, "Too many items"),
    (sync_errors.UnsupportedMedia, 415, "Unsupported media type"),
    (sync_errors.InvalidArea, 422, "Invalid area"),
    (sync_errors.InvalidChoice, 422, "Invalid choice"),
    (sync_errors.BadPath, 422, "Invalid path"),
    (sync_errors.InvalidRule, 422, "Invalid rule"),
    (SyncError, 400, "Malformed batch"),
]

TITLES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class ProblemDocument(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem document, the body of every error; `errors` locates each problem found."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[Problem] = []


def problem(
    status: int, detail: str, problems: list[Problem] | None = None, title: str | None = None
) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = msgspec.json.encode(document(status, detail, problems, title))
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def document(
    status: int, detail: str, problems: list[Problem] | None = None, title: str | None = None
) -> ProblemDocument:
    return ProblemDocument(
        type=f"https://survey-api.dev/problems/{status}",
        title=title or TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=list(problems or []),
    )


def classify(exc: Exception) -> tuple[int, str] | None:
    for kind, status, title in STATUSES:
        if isinstance(exc, kind):
            return status, title
    return None


def handle_domain(request: Request, exc: Exception) -> Response:
    """Errors raised by our own code: the table above picks the status."""
    found = document_of(exc)
    if found is None:
        return handle_unexpected(request, exc)
    return problem(found.status, found.detail, found.errors, found.title)


def document_of(exc: Exception) -> ProblemDocument | None:
    """The problem document of an error of our own code; None for anything else (a bug)."""
    found = classify(exc) if isinstance(exc, OURS) else None
    if found is None:
        return None
    status, title = found
    return document(status, str(exc) or title, exc.problems, title)


def handle_http(request: Request, exc: HTTPException) -> Response:
    """Litestar's own errors (unknown route, wrong method, unreadable body, over the size limit)."""
    status = exc.status_code
    if status >= 500:
        return handle_unexpected(request, exc)
    items: list[Problem] = []
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        for e in extra:
            if isinstance(e, dict):
                loc = [e.get("source", "body")] + ([e["key"]] if e.get("key") else [])
                items.append(Problem(loc=loc, code="invalid", message=str(e.get("message", ""))))
        # Litestar raises this for a body that parsed but does not fit its type; unreadable bodies are 400.
        status = 422 if items else 400
    detail = exc.detail if exc.detail else TITLES.get(status, "Error")
    if status == 404 and detail == "Not Found":
        detail = f"No route for {request.method} {request.url.path}"
    return problem(status, detail, items)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    """A bug of ours: logged with its trace, answered without one."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, UNEXPECTED)


EXCEPTION_HANDLERS = {
    HTTPException: handle_http,
    errors.ApiError: handle_domain,
    FormsError: handle_domain,
    SyncError: handle_domain,
    Exception: handle_unexpected,
}
