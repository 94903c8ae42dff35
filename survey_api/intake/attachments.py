"""A file a submission sent (a photo, a recording): checked, kept by content, recorded under its name.

Both doors take files through `attach`: the API's PUT and the OpenRosa submission's file parts. The
same name sent again replaces the file; the same bytes again change nothing (a resend is safe).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

import msgspec

from forms.errors import Problem
from survey_api.db.session import Session
from survey_api.errors import Invalid, NotFound, TooLarge
from survey_api.settings import Settings
from survey_api.stores import attachments
from survey_api.stores.media import MediaStore
from survey_api.web.access import ProjectAccess

MAX_NAME = 255
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
MAX_CONTENT_TYPE = 255
_CONTENT_TYPE = re.compile(r"^[\w!#$&^.+-]+/[\w!#$&^.+-]+$")


class Attached(msgspec.Struct, frozen=True, kw_only=True):
    """A file as kept: `field` is the answer naming it (null when none does; it is kept all the same).

    `replaced`: another file had this name before; `unchanged`: the same bytes were already kept."""

    filename: str
    field: str | None
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    replaced: bool
    unchanged: bool


def check_name(filename: str) -> str:
    """The file name as the answer names it: no folder, no control character, at most 255 characters."""
    if not filename or len(filename) > MAX_NAME or _BAD_NAME.search(filename) or filename in (".", ".."):
        raise Invalid(
            "A file needs the name its answer gives it: no slashes or control characters, at most 255.",
            [
                Problem(
                    loc=["path", "filename"],
                    code="bad_file_name",
                    message=f"{filename[:300]!r} is not usable",
                )
            ],
        )
    return filename


def content_type_of(header: str | None) -> str:
    """The media type as sent (parameters kept), or `application/octet-stream` when none is usable."""
    value = (header or "").strip()
    kind = value.split(";")[0].strip().lower()
    if not value or len(value) > MAX_CONTENT_TYPE or not _CONTENT_TYPE.match(kind):
        return "application/octet-stream"
    return value if value.isprintable() else kind


async def attach(
    db: Session,
    media: MediaStore,
    access: ProjectAccess,
    submission_uuid: str,
    filename: str,
    content_type: str,
    data: bytes,
    user_id: uuid.UUID | None,
    settings: Settings,
) -> Attached:
    """Keep one file of a submission received in the project; 404 for an unknown submission, 413 over
    either size limit, 422 for a name no answer could hold."""
    check_name(filename)
    if len(data) > settings.max_attachment_bytes:
        raise TooLarge(
            f"{filename!r} is {len(data)} bytes, over the limit of {settings.max_attachment_bytes} for one file."
        )
    answers = await attachments.answers_of(db, access.id, submission_uuid, lock=True)
    if answers is None:
        raise NotFound(f"No submission {submission_uuid!r} was received in {access.slug!r}.")
    earlier = await attachments.one(db, access.id, submission_uuid, filename, lock=True)
    others = await attachments.total_size(db, access.id, submission_uuid, besides=filename)
    if others + len(data) > settings.max_submission_bytes:
        raise TooLarge(
            f"The files of submission {submission_uuid!r} would come to {others + len(data)} bytes, over the "
            f"limit of {settings.max_submission_bytes} for one submission."
        )
    kind = content_type_of(content_type)
    sha256 = await media.put(data)
    if earlier is not None and earlier.sha256 == sha256 and earlier.content_type == kind:
        return view(earlier, replaced=False, unchanged=True)
    row = await attachments.put(
        db,
        access.id,
        submission_uuid,
        filename=filename,
        field=field_of(answers, filename),
        content_type=kind,
        size=len(data),
        sha256=sha256,
        user_id=user_id,
    )
    return view(row, replaced=earlier is not None, unchanged=False)


def path_of(project: str, submission_uuid: str, filename: str) -> str:
    """The API path of one file of a submission (what records and exports link to)."""
    return (
        f"/api/v1/projects/{quote(project, safe='')}/submissions/{quote(submission_uuid, safe='')}"
        f"/attachments/{quote(filename, safe='')}"
    )


def view(row: Any, *, replaced: bool, unchanged: bool) -> Attached:
    return Attached(
        filename=row.filename,
        field=row.field,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
        replaced=replaced,
        unchanged=unchanged,
    )


def field_of(answers: Any, filename: str) -> str | None:
    """The path of the answer whose value is `filename` (groups joined by "/", repeat places dropped)."""
    if isinstance(answers, dict) and isinstance(answers.get("answers"), dict):
        answers = answers["answers"]  # a submission's payload: its answers are inside
    pending: list[tuple[Any, str]] = [(answers, "")]
    while pending:
        node, path = pending.pop(0)
        if isinstance(node, list):
            pending.extend((item, path) for item in node)
        elif isinstance(node, dict):
            pending.extend((value, f"{path}/{name}" if path else str(name)) for name, value in node.items())
        elif isinstance(node, str) and node == filename and path:
            return path
    return None
