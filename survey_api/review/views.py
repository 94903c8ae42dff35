"""Records as clients see them: typed, with sensitive values nulled for callers without `pii`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from forms.model import PERSONAL_METADATA
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.intake.items import Validators
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


def status_of(row: tables.Record) -> str:
    return "merged" if row.merged_into is not None else row.status


async def records(
    db: Session, access: ProjectAccess, rows: list[tuple[tables.Record, str]], validators: Validators
) -> list[Record]:
    """Views of (record, form key) rows; one query loads the versions whose sensitive fields to hide."""
    hidden: dict[tuple[uuid.UUID, str], frozenset[str]] = {}
    if not access.pii and rows:
        keys = list({(r.form_id, r.form_version) for r, _ in rows})
        versions = await forms.versions_named(db, keys)
        for v in versions:
            hidden[(v.form_id, v.version)] = frozenset(validators.get(v, access.timezone).sensitive_paths)
    return [view(r, key, hidden.get((r.form_id, r.form_version), frozenset()), access.pii) for r, key in rows]


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
