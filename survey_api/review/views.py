"""Records as clients see them: typed, with sensitive values nulled for callers without `pii`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from forms.model import PERSONAL_METADATA
from forms.values import ATTACHMENTS
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.intake.attachments import path_of
from survey_api.intake.items import Validators
from survey_api.stores import attachments as attachment_store
from survey_api.stores import forms
from survey_api.web.access import ProjectAccess


class Location(msgspec.Struct, frozen=True, kw_only=True):
    lat: float
    lon: float
    accuracy: float | None = None


METADATA = (
    "What the tablet recorded about the submission that made the record (or last edited it offline),"
    " by kind: `start` and `end` (RFC 3339 in UTC), `today` (a date), `deviceid`, `username`,"
    " `phonenumber`, `email`, `simserial`, `subscriberid` (these four null without `pii`), `audit`;"
    " null when it sent none."
)


class AttachmentRef(msgspec.Struct, frozen=True, kw_only=True):
    """A file the record's answers name (`received` once it was sent), or one its submissions sent."""

    name: str
    field: str | None
    received: bool
    size: int | None = None
    content_type: str | None = None
    url: str | None = None
    """The API path that downloads it (reading a sensitive field's file needs `pii`)."""


ATTACHMENT_LIST = (
    "Files the record's photo, audio, video and file answers name, each `received` or still expected,"
    " and any other file its submissions sent; a sensitive field's files are left out without `pii`."
)


class Record(msgspec.Struct, frozen=True, kw_only=True):
    record_id: uuid.UUID
    form: str
    version: str
    revision: int
    status: str
    created_at: datetime
    updated_at: datetime
    location: Location | None
    answers: dict[str, Any]
    issues: list[Any]
    duplicate_of: uuid.UUID | None
    merged_into: uuid.UUID | None
    observations: int
    metadata: Annotated[dict[str, Any] | None, msgspec.Meta(description=METADATA)] = None
    attachments: Annotated[list[AttachmentRef], msgspec.Meta(description=ATTACHMENT_LIST)] = []


def status_of(row: tables.Record) -> str:
    return "merged" if row.merged_into is not None else row.status


async def records(
    db: Session, access: ProjectAccess, rows: list[tuple[tables.Record, str]], validators: Validators
) -> list[Record]:
    """Views of (record, form key) rows; one query loads their versions (which fields are sensitive,
    which name files) and one the files their submissions sent."""
    keys = list({(r.form_id, r.form_version) for r, _ in rows})
    compiled = {
        (v.form_id, v.version): validators.get(v, access.timezone)
        for v in await forms.versions_named(db, keys)
    }
    sent = await attachment_store.of_records(db, access.id, [(r.id, r.submission_uuid) for r, _ in rows])
    views = []
    for r, key in rows:
        validator = compiled.get((r.form_id, r.form_version))
        hidden = frozenset() if access.pii or validator is None else frozenset(validator.sensitive_paths)
        record = view(r, key, hidden, access.pii)
        types = validator.field_types if validator is not None else {}
        files = attachment_refs(
            access.slug, r.submission_uuid, record.answers, types, sent.get(r.id, []), hidden
        )
        views.append(msgspec.structs.replace(record, attachments=files))
    return views


def attachment_refs(
    project: str,
    submission_uuid: str | None,
    answers: dict[str, Any],
    types: dict[str, str],
    sent: list[tables.Attachment],
    hidden: frozenset[str],
) -> list[AttachmentRef]:
    """The files the (masked) answers name, in form order, then the other files sent; the newest file
    of a name wins when several submissions sent one."""
    received = {a.filename: a for a in sent if a.field is None or a.field not in hidden}
    refs: list[AttachmentRef] = []
    seen: set[str] = set()
    for name, field in expected_files(answers, types):
        if name in seen:
            continue
        seen.add(name)
        refs.append(reference(project, submission_uuid, name, field, received.get(name)))
    for name, row in received.items():
        if name not in seen:
            refs.append(reference(project, submission_uuid, name, row.field, row))
    return refs


def reference(
    project: str, submission_uuid: str | None, name: str, field: str | None, row: tables.Attachment | None
) -> AttachmentRef:
    owner = row.submission_uuid if row is not None else submission_uuid
    return AttachmentRef(
        name=name,
        field=field,
        received=row is not None,
        size=row.size if row is not None else None,
        content_type=row.content_type if row is not None else None,
        url=path_of(project, owner, name) if owner else None,
    )


def expected_files(answers: Any, types: dict[str, str], prefix: str = "") -> list[tuple[str, str]]:
    """(file name, field path) of every photo, audio, video or file answer, inside groups and repeats,
    in the order the record keeps them (forms nest a few levels at most: `forms.model.MAX_DEPTH`)."""
    if isinstance(answers, list):
        return [found for item in answers for found in expected_files(item, types, prefix)]
    if not isinstance(answers, dict):
        return []
    found: list[tuple[str, str]] = []
    for name, value in answers.items():
        path = prefix + name
        if types.get(path) in ATTACHMENTS:
            if isinstance(value, str) and value:
                found.append((value, path))
        elif isinstance(value, dict | list):
            found += expected_files(value, types, path + "/")
    return found


def view(row: tables.Record, form_key: str, hidden: frozenset[str], pii: bool) -> Record:
    location = None
    if row.lat is not None and row.lon is not None:
        location = Location(lat=row.lat, lon=row.lon, accuracy=row.accuracy)
    return Record(
        record_id=row.id,
        form=form_key,
        version=row.form_version,
        revision=row.revision,
        status=status_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        location=location,
        answers=mask(row.answers, hidden) if hidden else row.answers,
        issues=row.issues or [],
        duplicate_of=row.duplicate_of,
        merged_into=row.merged_into,
        observations=row.observations,
        metadata=row.meta if pii or not row.meta else masked_metadata(row.meta),
    )


def masked_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata a caller without `pii` sees: the phone and account ones null."""
    return {kind: None if kind in PERSONAL_METADATA else value for kind, value in meta.items()}


def mask(answers: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """A copy with every sensitive path set to null, inside groups and every repeat item."""
    return _mask(answers, [p.split("/") for p in hidden])


def _mask(node: Any, paths: list[list[str]]) -> Any:
    if isinstance(node, list):
        return [_mask(n, paths) for n in node]
    if not isinstance(node, dict):
        return node
    out = dict(node)
    for head in {p[0] for p in paths}:
        if head not in out:
            continue
        rest = [p[1:] for p in paths if p[0] == head and len(p) > 1]
        out[head] = None if any(p[0] == head and len(p) == 1 for p in paths) else _mask(out[head], rest)
    return out
