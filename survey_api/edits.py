"""Turning valid submissions into records: new records, edits on the head, three-way merges of stale edits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.access import ProjectAccess
from survey_api.stores import intake as store
from sync import batch as wire
from sync.batch import ItemResult
from sync.grid import cell_key
from sync.merge import Conflicted, changed_paths, three_way

if TYPE_CHECKING:
    from survey_api.intake import Item

# The grid cell size of the duplicate-candidate index; fixed once records carry cells.
CELL_M = 100.0


async def apply(
    db: AsyncSession, access: ProjectAccess, items: list[Item], device_id: str | None, now: datetime
) -> None:
    """Write records, revisions and conflicts for valid items, in bulk; sets each item's result."""
    records: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    for item in items:
        if item.sub is None or item.sub.record_id is not None:
            continue
        assert item.form is not None and item.version is not None
        record_id = uuid.uuid4()
        records.append(
            {
                "id": record_id,
                "project_id": access.id,
                "form_id": item.form.id,
                "form_version": item.version.version,
                "revision": 1,
                "status": "ok",
                "answers": item.answers,
                "issues": msgspec.to_builtins(item.issues),
                **location_columns(item),
                "content_hash": item.hash,
                "device_id": device_id,
                "created_by": access.user.id,
                "updated_by": access.user.id,
                "observed_at": item.observed_at,
            }
        )
        revisions.append(revision_row(record_id, 1, "create", item, access, item.answers, []))
        item.result = ItemResult(
            uuid=item.uuid, status=wire.ACCEPTED, record_id=str(record_id), revision=1, issues=item.issues
        )
    await store.add_records(db, records)

    edits = [i for i in items if i.sub is not None and i.sub.record_id is not None]
    if edits:
        changes, conflicts = await apply_edits(db, access, edits, revisions)
        await store.update_records(db, changes)
        await store.add_conflicts(db, conflicts)
    await store.add_revisions(db, revisions)


async def apply_edits(
    db: AsyncSession, access: ProjectAccess, edits: list[Item], revisions: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Edits in batch order against locked heads; several edits of one record see each other."""
    ids = {uuid.UUID(i.sub.record_id) for i in edits if i.sub and i.sub.record_id}
    heads = await store.heads(db, list(ids))
    wanted = [
        (uuid.UUID(i.sub.record_id), i.sub.base_revision)
        for i in edits
        if i.sub and i.sub.record_id and i.sub.base_revision is not None
    ]
    bases = await store.revisions(db, [(r, n) for r, n in wanted if r in heads and n < heads[r].revision])
    state: dict[uuid.UUID, dict[str, Any]] = {}
    conflicts: list[dict[str, Any]] = []
    for item in edits:
        sub = item.sub
        assert sub is not None and sub.record_id is not None and sub.base_revision is not None
        record_id = uuid.UUID(sub.record_id)
        head = heads.get(record_id)
        if head is None or head.project_id != access.id or item.form is None or head.form_id != item.form.id:
            item.reject(
                "unknown_record",
                f"No record {sub.record_id} of form {sub.form!r} in this project.",
                ["record_id"],
            )
            continue
        if head.merged_into is not None:
            item.reject(
                "record_merged",
                f"Record {record_id} was merged into {head.merged_into}; edit that one.",
                ["record_id"],
            )
            continue
        current = state.get(record_id) or {
            "id": record_id,
            "revision": head.revision,
            "answers": head.answers,
            "status": head.status,
        }
        if sub.base_revision > current["revision"]:
            item.reject(
                "unknown_revision",
                f"Record {record_id} has no revision {sub.base_revision} yet.",
                ["base_revision"],
            )
            continue
        status, answers, conflict_id = wire.ACCEPTED, item.answers, None
        if sub.base_revision < current["revision"]:
            base = bases.get((record_id, sub.base_revision))
            if base is None:  # an earlier edit of this batch made the base; compare with the head
                base = current["answers"]
            merged = three_way(base, current["answers"], item.answers)
            answers = merged.answers
            status = wire.MERGED
            if isinstance(merged, Conflicted):
                status = wire.CONFLICT
                conflict_id = uuid.uuid4()
                conflicts.append(
                    {
                        "id": conflict_id,
                        "project_id": access.id,
                        "record_id": record_id,
                        "submission_uuid": item.uuid,
                        "base_revision": sub.base_revision,
                        "fields": msgspec.to_builtins(merged.fields),
                    }
                )
        changed = changed_paths(current["answers"], answers)
        revision = current["revision"]
        if changed or conflict_id:
            revision += 1
            revisions.append(revision_row(record_id, revision, status, item, access, answers, changed))
            current = {
                "id": record_id,
                "revision": revision,
                "answers": answers,
                "status": "conflict" if conflict_id or current["status"] == "conflict" else current["status"],
                "form_version": item.version.version if item.version else head.form_version,
                "issues": msgspec.to_builtins(item.issues),
                **location_columns(item),
                "updated_by": access.user.id,
            }
            state[record_id] = current
        item.result = ItemResult(
            uuid=item.uuid,
            status=status,
            record_id=str(record_id),
            revision=revision,
            conflict_id=str(conflict_id) if conflict_id else None,
            issues=item.issues,
        )
    for item in edits:
        if item.result is None and item.errors:
            item.result = ItemResult(
                uuid=item.uuid, status=wire.REJECTED, issues=item.issues, errors=item.errors
            )
    return list(state.values()), conflicts


def location_columns(item: Item) -> dict[str, Any]:
    """The record's point, accuracy and grid cell (the duplicate index), from the item's location."""
    if item.location is None:
        return {"lat": None, "lon": None, "accuracy": None, "cell_x": None, "cell_y": None}
    lat, lon, accuracy = item.location
    cell_x, cell_y = cell_key(lat, lon, CELL_M)
    return {"lat": lat, "lon": lon, "accuracy": accuracy, "cell_x": cell_x, "cell_y": cell_y}


def revision_row(
    record_id: uuid.UUID,
    revision: int,
    kind: str,
    item: Item | None,
    access: ProjectAccess,
    answers: dict[str, Any],
    changed: list[str],
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "revision": revision,
        "kind": kind,
        "submission_uuid": item.uuid if item else None,
        "user_id": access.user.id,
        "answers": answers,
        "changed": changed,
    }
