"""The intake path: one batch, judged item by item, written in bulk in the request's transaction."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from forms.errors import Problem
from survey_api.db import tables
from survey_api.db.session import Session, savepoint
from survey_api.intake import edits
from survey_api.intake import placement as dedup
from survey_api.intake.items import Item, Validators
from survey_api.stores import forms as forms_store
from survey_api.stores import submissions
from survey_api.web.access import ProjectAccess
from sync import batch as wire
from sync import candidates, folding
from sync.batch import ItemResult
from sync.hashing import canonical_bytes, content_hash
from sync.normalize import area_from_geojson, clock_skew, correct, outside_area, utc_or_none
from sync.payload import NUL_ESCAPE, payload_of, storable

log = logging.getLogger("survey_api")

UNJUDGED = "This item could not be judged; it is kept in the quarantine and the server's log says why."


class Raced(Exception):
    """A concurrent batch logged one of this batch's uuids first; this one runs again to see it."""


async def ingest(
    db: Session,
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
            async with savepoint(db):
                return await ingest_once(db, access, batch, media, validators, nul_free)
        except Raced:
            continue


async def ingest_once(
    db: Session,
    access: ProjectAccess,
    batch: wire.Batch,
    media: wire.Media,
    validators: Validators,
    nul_free: bool,
) -> wire.BatchResult:
    now = datetime.now(UTC)
    tz = ZoneInfo(access.timezone)
    sent_at = utc_or_none(batch.sent_at, tz) if batch.sent_at is not None else None
    skew = clock_skew(sent_at, now, tz)
    device_id = storable(batch.device_id)
    items = [parse(i, raw, media, nul_free, validators.max_text) for i, raw in enumerate(batch.submissions)]
    versions = await forms_store.published_versions(
        db, access.id, {(i.sub.form, i.sub.version) for i in items if i.sub is not None}
    )
    policies = {key: dedup.policy_of(form, version.definition) for key, (form, version) in versions.items()}
    area = area_from_geojson(access.area) if access.area else None
    for item in items:
        item.device_id = device_id
        if item.sub is not None:
            item.policy = policies.get((item.sub.form, item.sub.version))
            guarded(item, judge, media, versions, validators, access.timezone, area)
            guarded(item, place_in_time, skew, tz, now)
        clean_problems(item)

    repeats = wire.find_repeated_uuids([(i.uuid, i.hash) for i in items])
    claimable = [i for i in items if i.uuid is not None and i.index not in repeats]
    before = await submissions.earlier(db, [i.uuid for i in claimable if i.uuid])
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
    if not await submissions.log(db, [log_row(i, access, device_id, sent_at, skew) for i in logged]):
        raise Raced
    results = [i.result for i in items]
    assert all(r is not None for r in results), "every received item is accounted for"
    return wire.BatchResult(results=results, server_time=now)  # type: ignore[arg-type]


def parse(index: int, raw: msgspec.Raw, media: wire.Media, nul_free: bool, max_text: int) -> Item:
    """One received item; `nul_free`: its JSON body holds no \\u0000 escape anywhere.

    Whatever its bytes, the result is an item whose payload PostgreSQL stores: a failure here is a
    rejection of this item alone.
    """
    try:
        parsed = wire.parse_item(raw, media, max_text)
        if isinstance(parsed, wire.ItemError):
            item = Item(index, payload_of(raw, media, parsed=False))
            item.uuid, item.form_key, item.form_version = parsed.uuid, parsed.form, parsed.version
            item.errors += parsed.errors
            item.hash = hashlib.sha256(canonical_bytes(item.payload)).hexdigest()  # a retry is a duplicate
            return item
        item = Item(index, payload_of(raw, media, parsed=True))
        item.clean = media == "json" and (nul_free or NUL_ESCAPE not in bytes(raw))
        item.sub = parsed
        item.uuid, item.form_key, item.form_version = parsed.uuid, parsed.form, parsed.version
        return item
    except Exception as exc:  # the guard: nothing about one item may cost its batch
        item = Item(index, payload_of(raw, media, parsed=False))
        unjudged(item, exc)
        return item


def guarded(item: Item, work: Any, *args: Any) -> None:
    """Run one step of judging an item; whatever it raises rejects this item alone."""
    try:
        work(item, *args)
    except Exception as exc:  # the guard: nothing about one item may cost its batch
        unjudged(item, exc)


def unjudged(item: Item, exc: Exception) -> None:
    if isinstance(exc, RecursionError):
        item.reject("too_deep", f"The item is nested too deeply (answers may nest {wire.MAX_DEPTH} levels).")
        return
    log.error("an item could not be judged (index %d, uuid %r)", item.index, item.uuid, exc_info=exc)
    item.reject("unprocessable", UNJUDGED)


def place_in_time(item: Item, skew: timedelta, tz: ZoneInfo, now: datetime) -> None:
    """Device times on the server's clock; one that no calendar can place is an issue, not an error."""
    sub = item.sub
    assert sub is not None
    item.started_at = correct(sub.started_at, skew, tz)
    item.ended_at = correct(sub.ended_at, skew, tz)
    for key, sent, placed in (
        ("started_at", sub.started_at, item.started_at),
        ("ended_at", sub.ended_at, item.ended_at),
    ):
        if sent is not None and placed is None:
            message = f"{key} {sent.isoformat()} cannot be placed on the server's clock; it is kept as sent"
            item.issues.append(Problem(loc=[key], code="implausible_time", message=message))
    item.observed_at = item.ended_at or item.started_at or now


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
    found = versions.get((sub.form, sub.version))
    validator = validators.get(found[1], timezone) if found is not None else None
    content = sub.answers
    # A tablet's clock or id is no content: two taps of one form hash alike, whatever their metadata.
    if validator is not None and validator.metadata.kinds:
        content = {k: v for k, v in content.items() if k not in validator.metadata.kinds}
    item.hash = content_hash(
        sub.form, sub.version, sub.record_id, sub.base_revision, content, from_json=media == "json"
    )
    if found is None or validator is None:
        item.reject(
            "unknown_form_version",
            f"Form {sub.form!r} has no published version {sub.version!r} in this project.",
            ["version"],
        )
        return
    item.form, item.version = found
    validated = validator.validate(sub.answers)
    item.issues += [
        Problem(loc=["answers", *p.loc], code=p.code, message=p.message) for p in validated.issues
    ]
    item.errors += [
        Problem(loc=["answers", *p.loc], code=p.code, message=p.message) for p in validated.errors
    ]
    # Answers come from the payload: if it needed no cleaning for PostgreSQL, neither do they.
    item.answers = validated.answers if item.clean else storable(validated.answers)
    if validated.metadata:
        item.metadata = validated.metadata if item.clean else storable(validated.metadata)
    item.field_types = validator.field_types
    path = item.location_path = candidates.location_path(item.policy, validator)
    item.point = folding.point_columns(item.answers, path)
    located = item.point["lat"] is not None
    if located and area is not None and outside_area((item.point["lon"], item.point["lat"]), area):
        item.issues.append(
            Problem(
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
) -> submissions.LogRow:
    sub, result = item.sub, item.result
    assert result is not None
    return submissions.LogRow(
        uuid=item.uuid if item.owns_uuid else None,
        project_id=access.id,
        form_key=item.form_key,
        form_version=item.form_version,
        device_id=device_id,
        user_id=access.user.id,
        sent_at=sent_at,
        clock_skew_s=skew.total_seconds(),
        started_at_raw=utc_or_none(sub.started_at) if sub and sub.started_at else None,
        ended_at_raw=utc_or_none(sub.ended_at) if sub and sub.ended_at else None,
        started_at=item.started_at,
        ended_at=item.ended_at,
        content_hash=item.hash,
        payload=item.payload,
        outcome=result.status,
        errors=item.errors,
        result=result,
        record_id=uuid.UUID(result.record_id) if result.record_id else None,
    )


def clean_problems(item: Item) -> None:
    """Problems name answer keys as sent; with NUL in them they are made fit for jsonb too (once per
    item, after it is judged: what is added later names no key of the item's)."""
    if not item.clean and (item.errors or item.issues):
        item.errors = [msgspec.convert(storable(msgspec.to_builtins(p)), Problem) for p in item.errors]
        item.issues = [msgspec.convert(storable(msgspec.to_builtins(p)), Problem) for p in item.issues]
