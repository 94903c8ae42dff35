"""The intake path: one batch, judged item by item, written in bulk in the request's transaction."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from forms.model import load_definition
from forms.validate import Validator, compile_validator
from survey_api import dedup, edits, folding, tables
from survey_api.access import ProjectAccess
from survey_api.stores import intake as store
from sync import batch as wire
from sync.batch import ItemProblem, ItemResult, SubmissionIn
from sync.dedup import Policy
from sync.hashing import canonical_bytes, content_hash
from sync.normalize import area_from_geojson, clock_skew, correct, outside_area

# Payloads for the log; out-of-range JSON numbers (1e999) become inf, which `storable` spells out.
LENIENT_JSON = msgspec.json.Decoder(float_hook=float)
MSGPACK = msgspec.msgpack.Decoder()
CONTROL = re.compile(r"[\x00-\x1f]")
NUL_ESCAPE = b"\\u0000"  # the JSON escape jsonb refuses


class Item:
    """The working state of one received item while its batch is processed."""

    __slots__ = (
        "answers", "clean", "device_id", "ended_at", "errors", "field_types", "form", "hash", "index", "issues",
        "location_path", "new_id", "observed_at", "owns_uuid", "payload", "point", "policy", "result", "started_at",
        "sub", "uuid", "version",
    )  # fmt: skip

    def __init__(self, index: int, payload: Any) -> None:
        self.index = index
        self.payload = payload
        self.clean = False
        self.sub: SubmissionIn | None = None
        self.uuid: str | None = None
        self.errors: list[ItemProblem] = []
        self.issues: list[ItemProblem] = []
        self.answers: dict[str, Any] = {}
        self.hash: str | None = None
        self.form: tables.Form | None = None
        self.version: tables.FormVersion | None = None
        self.location_path: str | None = None  # where the record's location is in the answers
        self.point: dict[str, Any] = folding.NO_POINT  # the record's point columns (lat, lon, cell...)
        self.policy: Policy | None = None  # the form's duplicate policy; None: double taps only
        self.field_types: dict[str, str] = {}
        self.device_id: str | None = None
        self.new_id: uuid.UUID | None = None  # the record a new item makes
        self.observed_at: datetime | None = None
        self.started_at: datetime | None = None  # device times corrected for clock skew
        self.ended_at: datetime | None = None
        self.owns_uuid = False  # logged under its uuid (the first time this uuid was received)
        self.result: ItemResult | None = None

    def reject(self, code: str, message: str, loc: list[str | int] | None = None) -> None:
        self.errors.append(ItemProblem(loc=loc or [], code=code, message=message))


class Validators:
    """Compiled validators by form version id; a published version never changes, so never stale."""

    def __init__(self) -> None:
        self._cache: dict[uuid.UUID, Validator] = {}

    def get(self, version: tables.FormVersion, timezone: str) -> Validator:
        found = self._cache.get(version.id)
        if found is None:
            found = compile_validator(load_definition(version.definition), timezone)
            self._cache[version.id] = found
        return found


class Raced(Exception):
    """A concurrent batch logged one of this batch's uuids first; this one runs again to see it."""


async def ingest(
    db: AsyncSession,
    access: ProjectAccess,
    body: bytes,
    media: wire.Media,
    validators: Validators,
) -> wire.BatchResult:
    """Judge and store a batch; each received item is logged once, with its outcome.

    Items are judged against the log as committed, then written and logged in one COPY whose unique
    index on uuid has the last word: if a concurrent batch logged one of these uuids meanwhile, the
    COPY is refused and the batch runs again from its savepoint, now seeing that uuid as received
    before. Every retry finds at least one more uuid taken, so it ends.
    """
    batch = wire.decode_batch(body, media)
    nul_free = media == "json" and NUL_ESCAPE not in body  # then no item needs looking at for it
    while True:
        try:
            async with db.begin_nested():
                return await ingest_once(db, access, batch, media, validators, nul_free)
        except Raced:
            continue


async def ingest_once(
    db: AsyncSession,
    access: ProjectAccess,
    batch: wire.Batch,
    media: wire.Media,
    validators: Validators,
    nul_free: bool,
) -> wire.BatchResult:
    now = datetime.now(UTC)
    tz = ZoneInfo(access.timezone)
    skew = clock_skew(batch.sent_at, now, tz)
    device_id = batch.device_id
    items = [parse(i, raw, media, nul_free) for i, raw in enumerate(batch.submissions)]
    versions = await store.published_versions(
        db, access.id, {(i.sub.form, i.sub.version) for i in items if i.sub is not None}
    )
    policies = {key: dedup.policy_of(form, version.definition) for key, (form, version) in versions.items()}
    area = area_from_geojson(access.area) if access.area else None
    for item in items:
        item.device_id = device_id
        if item.sub is not None:
            item.policy = policies.get((item.sub.form, item.sub.version))
            judge(item, media, versions, validators, access.timezone, area)
            item.started_at = correct(item.sub.started_at, skew, tz)
            item.ended_at = correct(item.sub.ended_at, skew, tz)
            item.observed_at = item.ended_at or item.started_at or now

    repeats = wire.find_repeated_uuids([(i.uuid, i.hash) for i in items])
    claimable = [i for i in items if i.uuid is not None and i.index not in repeats]
    before = await store.earlier(db, [i.uuid for i in claimable if i.uuid])
    fresh: list[Item] = []
    for item in claimable:
        if item.uuid not in before:
            item.owns_uuid = True
            fresh.append(item)
            continue
        first_hash, first_result = before[item.uuid or ""]
        if first_hash is not None and first_hash == item.hash and first_result is not None:
            item.result = msgspec.convert({**first_result, "status": wire.DUPLICATE}, ItemResult)
        else:
            item.reject(
                "uuid_conflict",
                "This uuid was received before with other content; kept in quarantine.",
                ["uuid"],
            )
    await edits.apply(db, access, [i for i in fresh if not i.errors], device_id, now)

    for item in items:
        if item.result is None and item.errors:
            item.result = ItemResult(
                uuid=item.uuid, status=wire.REJECTED, issues=item.issues, errors=item.errors
            )
    for index, repeat in repeats.items():
        item, first = items[index], items[repeat.first_index]
        if repeat.status == wire.DUPLICATE and first.result is not None:
            item.result = msgspec.structs.replace(first.result, status=wire.DUPLICATE)
        else:
            item.reject(
                "uuid_conflict", "Another item of this batch has this uuid with other content.", ["uuid"]
            )
            item.result = ItemResult(
                uuid=item.uuid, status=wire.REJECTED, issues=item.issues, errors=item.errors
            )

    # The log: every item processed here, and every rejected one (those not owning their uuid
    # are logged without it). A duplicate of an earlier item is not logged again.
    logged = [i for i in items if i.owns_uuid or (i.result is not None and i.result.status == wire.REJECTED)]
    if not await store.log(db, [log_row(i, access, device_id, batch.sent_at, skew) for i in logged]):
        raise Raced
    results = [i.result for i in items]
    assert all(r is not None for r in results), "every received item is accounted for"
    return wire.BatchResult(results=results, server_time=now)  # type: ignore[arg-type]


def parse(index: int, raw: msgspec.Raw, media: wire.Media, nul_free: bool) -> Item:
    """One received item; `nul_free`: its JSON body holds no \\u0000 escape anywhere."""
    parsed = wire.parse_item(raw, media)
    if isinstance(parsed, wire.ItemError):
        item = Item(index, loggable(raw, media))
        item.uuid = clean_uuid(parsed.uuid)
        item.errors += parsed.errors
        item.hash = hashlib.sha256(canonical_bytes(item.payload)).hexdigest()  # a retry is still a duplicate
        return item
    payload, clean = decode_payload(raw, media, nul_free)
    item = Item(index, payload)
    item.clean = clean
    item.sub = parsed
    item.uuid = clean_uuid(parsed.uuid)
    if item.uuid is None:
        item.reject("invalid_uuid", "uuid must not contain control characters.", ["uuid"])
    return item


def judge(
    item: Item,
    media: wire.Media,
    versions: dict[tuple[str, str], tuple[tables.Form, tables.FormVersion]],
    validators: Validators,
    timezone: str,
    area: Any,
) -> None:
    """Validate one parsed item against its form version; fills answers, issues, errors and hash."""
    sub = item.sub
    assert sub is not None
    item.hash = content_hash(
        sub.form, sub.version, sub.record_id, sub.base_revision, sub.answers, from_json=media == "json"
    )
    found = versions.get((sub.form, sub.version))
    if found is None:
        item.reject(
            "unknown_form_version",
            f"Form {sub.form!r} has no published version {sub.version!r} in this project.",
            ["version"],
        )
        return
    item.form, item.version = found
    validator = validators.get(item.version, timezone)
    validated = validator.validate(sub.answers)
    item.issues += [
        ItemProblem(loc=["answers", *p.loc], code=p.code, message=p.message) for p in validated.issues
    ]
    item.errors += [
        ItemProblem(loc=["answers", *p.loc], code=p.code, message=p.message) for p in validated.errors
    ]
    # Answers come from the payload: if it needed no cleaning for PostgreSQL, neither do they.
    item.answers = validated.answers if item.clean else storable(validated.answers)
    item.field_types = validator.field_types
    path = item.location_path = dedup.location_path(item.policy, validator)
    item.point = folding.point_columns(item.answers, path)
    located = item.point["lat"] is not None
    if located and area is not None and outside_area((item.point["lon"], item.point["lat"]), area):
        item.issues.append(
            ItemProblem(
                loc=["answers", *(path or "").split("/")],
                code="outside_area",
                message="The point is outside the project's area of interest.",
            )
        )
    if sub.record_id is not None:
        try:
            uuid.UUID(sub.record_id)
        except ValueError:
            item.reject("unknown_record", f"No record {sub.record_id!r}.", ["record_id"])


def log_row(
    item: Item, access: ProjectAccess, device_id: str | None, sent_at: datetime | None, skew: timedelta
) -> dict[str, Any]:
    sub, result = item.sub, item.result
    assert result is not None
    return {
        "uuid": item.uuid if item.owns_uuid else None,
        "project_id": access.id,
        "form_key": sub.form if sub else None,
        "form_version": sub.version if sub else None,
        "device_id": storable(device_id),
        "user_id": access.user.id,
        "sent_at": sent_at,
        "clock_skew_s": skew.total_seconds(),
        "started_at_raw": sub.started_at if sub else None,
        "ended_at_raw": sub.ended_at if sub else None,
        "started_at": item.started_at,
        "ended_at": item.ended_at,
        "content_hash": item.hash,
        "payload": item.payload,
        "outcome": result.status,
        "errors": item.errors,
        "result": result,
        "record_id": uuid.UUID(result.record_id) if result.record_id else None,
    }


def clean_uuid(value: str | None) -> str | None:
    if value is None or CONTROL.search(value):
        return None
    return value


def decode_payload(raw: msgspec.Raw, media: wire.Media, nul_free: bool) -> tuple[Any, bool]:
    """The item as the log stores it, and whether its answers are fit for jsonb as they are.

    Call it for items that parsed. JSON text goes to the log untouched (a json column keeps the
    bytes as sent, NUL escapes included); its answers need cleaning only if it holds the escape
    \\u0000, which jsonb refuses (the typed parse has already refused out-of-range numbers); a body
    known to be free of it (`nul_free`: one search of the whole body) spares the search per item.
    MessagePack is decoded and cleaned (NaN, bytes, NUL).
    """
    if media == "json":
        return raw, nul_free or NUL_ESCAPE not in bytes(raw)
    return loggable(raw, media), False


def loggable(raw: msgspec.Raw, media: wire.Media) -> Any:
    """Any item as plain values jsonb accepts; bytes that are not even JSON are kept as text."""
    try:
        return storable(LENIENT_JSON.decode(raw) if media == "json" else MSGPACK.decode(raw))
    except msgspec.DecodeError:
        return bytes(raw).decode("utf-8", "replace")


def storable(value: Any) -> Any:
    """What PostgreSQL's jsonb and text accept: no NUL characters, no NaN or infinities, no bytes."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(storable(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)
