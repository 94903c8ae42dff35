"""Turning valid submissions into records: new records, edits on the head, three-way merges of stale edits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from forms.model import DedupPolicy
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.intake import placement as dedup
from survey_api.intake.items import Item
from survey_api.intake.rows import first_revision, pair_row, revision_row
from survey_api.stores import conflicts as conflicts_store
from survey_api.stores import duplicates as dedup_store
from survey_api.stores import records as records_store
from survey_api.stores.conflicts import ConflictRow
from survey_api.stores.duplicates import PairRow
from survey_api.stores.records import RecordRow, RevisionRow
from survey_api.web.access import ProjectAccess
from sync import batch as wire
from sync import folding
from sync.batch import ItemResult
from sync.folding import ObservationRow
from sync.merge import Conflicted, changed_paths, three_way


async def apply(
    db: Session,
    access: ProjectAccess,
    items: list[Item],
    device_id: str | None,
    now: datetime,
) -> None:
    """Write records, revisions, conflicts, folds and review pairs for valid items, in bulk.

    New items are placed first (a read); then every record the batch will change (edited heads and
    merge targets) is locked in one statement, in id order, so concurrent batches cannot deadlock.
    """
    new = [i for i in items if i.sub is not None and i.sub.record_id is None]
    edits = [i for i in items if i.sub is not None and i.sub.record_id is not None]
    for item in new:
        item.new_id = uuid.uuid4()
    placements = await dedup.place(db, new)
    fresh_ids = {i.new_id for i in new}
    targets = {p.target for p in placements.values() if p.decision == "merge"} - fresh_ids
    edited = {uuid.UUID(i.sub.record_id) for i in edits if i.sub and i.sub.record_id}
    heads = await records_store.heads(db, list(edited | targets))

    records: dict[uuid.UUID, RecordRow] = {}
    revisions: list[RevisionRow] = []
    pairs: list[PairRow] = []
    for item in new:
        assert item.form is not None and item.version is not None and item.new_id is not None
        placement = placements.get(item.index)
        review = placement is not None and placement.decision == "review"
        records[item.new_id] = RecordRow(
            id=item.new_id,
            project_id=access.id,
            form_id=item.form.id,
            form_version=item.version.version,
            revision=1,
            status="possible_duplicate" if review else "ok",
            duplicate_of=placement.target if review and placement else None,
            answers=item.answers,
            issues=msgspec.to_builtins(item.issues),
            metadata=item.metadata or None,
            lat=item.point["lat"],  # one by one: unpacking ** into keywords costs more
            lon=item.point["lon"],
            accuracy=item.point["accuracy"],
            cell_x=item.point["cell_x"],
            cell_y=item.point["cell_y"],
            observations=1,
            merged_into=None,
            content_hash=item.hash,
            device_id=device_id,
            submission_uuid=item.uuid,
            created_by=access.user.id,
            updated_by=access.user.id,
            created_at=now,
            observed_at=item.observed_at,
        )
        item.result = ItemResult(
            uuid=item.uuid, status=wire.ACCEPTED, record_id=str(item.new_id), revision=1, issues=item.issues
        )
        if review and placement is not None:
            pairs.append(pair_row(access, item, placement, None, now))
            item.result = msgspec.structs.replace(
                item.result,
                status=wire.POSSIBLE_DUPLICATE,
                duplicate_of=str(placement.target),
                score=placement.score.total,
            )

    state, conflicts, observations = await apply_edits(db, access, edits, revisions, heads, now)
    held = {k: folding.held_rows(v) for k, v in (await dedup_store.observations(db, targets)).items()}
    for row in observations:
        held.setdefault(row.record_id, []).append(row)
    for item in new:
        placement = placements.get(item.index)
        if placement is None or placement.decision != "merge":
            continue
        head = heads.get(placement.target)
        if head is not None and head.merged_into is not None:  # folded elsewhere since it was found
            continue
        assert item.new_id is not None
        created = records.get(placement.target)  # the target, when it is a record of this batch
        if created is not None:
            survivor = folding.state(created)
        else:
            survivor = state.get(placement.target) or folding.state(head)
        folded = folding.fold(
            survivor,
            held.get(placement.target, []),
            folding.state(records[item.new_id]),
            [],
            item.policy or DedupPolicy(),
            item.location_path,
            item.uuid,
        )
        held[placement.target] = folded.held
        observations += folded.inserts
        values = {**folded.values, "updated_by": access.user.id}
        if created is not None:  # inserted at its new revision
            if created.revision == 1:  # no update will move it on: its first revision goes with it
                revisions.append(first_revision(created))
            records[placement.target] = msgspec.structs.replace(created, **values)
        else:
            state[placement.target] = {**survivor, **values}
        revision = values["revision"]
        revisions.append(
            revision_row(placement.target, revision, "merge", item, access, values["answers"], folded.changed)
        )
        records[item.new_id] = msgspec.structs.replace(
            records[item.new_id], status="merged", merged_into=placement.target, duplicate_of=placement.target
        )
        pairs.append(pair_row(access, item, placement, folding.snapshot(survivor, folded), now))
        item.result = ItemResult(
            uuid=item.uuid,
            status=wire.MERGED_DUPLICATE,
            record_id=str(placement.target),
            revision=revision,
            duplicate_of=str(placement.target),
            score=placement.score.total,
            issues=item.issues,
        )

    await records_store.add_records(db, list(records.values()))
    await records_store.update_records(
        db, [{k: v for k, v in r.items() if k in UPDATABLE} for r in state.values()]
    )
    await dedup_store.add_observations(db, observations)
    await dedup_store.add_pairs(db, pairs)
    await conflicts_store.add_conflicts(db, conflicts)
    await records_store.add_revisions(db, revisions)


UPDATABLE = frozenset(
    {
        "id", "answers", "revision", "status", "form_version", "issues", "meta", "lat", "lon", "accuracy",
        "cell_x", "cell_y", "observations", "updated_by",
    }
)  # fmt: skip


async def apply_edits(
    db: Session,
    access: ProjectAccess,
    edits: list[Item],
    revisions: list[RevisionRow],
    heads: dict[uuid.UUID, tables.Record],
    now: datetime,
) -> tuple[dict[uuid.UUID, dict[str, Any]], list[ConflictRow], list[ObservationRow]]:
    """Edits in batch order against locked heads; several edits of one record see each other.

    Returns the changed records' new state, conflicts, and the edit observations of records that
    others are merged into (so undoing a merge keeps the edit).
    """
    wanted = [
        (uuid.UUID(i.sub.record_id), i.sub.base_revision)
        for i in edits
        if i.sub and i.sub.record_id and i.sub.base_revision is not None
    ]
    bases = await records_store.revisions(
        db, [(r, n) for r, n in wanted if r in heads and n < heads[r].revision]
    )
    state: dict[uuid.UUID, dict[str, Any]] = {}
    conflicts: list[ConflictRow] = []
    observations: list[ObservationRow] = []
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
        current = state.get(record_id) or folding.state(head)
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
                    ConflictRow(
                        id=conflict_id,
                        project_id=access.id,
                        record_id=record_id,
                        submission_uuid=item.uuid,
                        base_revision=sub.base_revision,
                        fields=msgspec.to_builtins(merged.fields),
                    )
                )
        changed = changed_paths(current["answers"], answers)
        revision = current["revision"]
        if changed or conflict_id:
            revision += 1
            revisions.append(revision_row(record_id, revision, status, item, access, answers, changed))
            if head.observations > 1 and changed:
                observations.append(folding.edit_observation(record_id, answers, changed, now, item.uuid))
            current = {
                **current,
                "revision": revision,
                "answers": answers,
                "status": "conflict" if conflict_id or current["status"] == "conflict" else current["status"],
                "form_version": item.version.version if item.version else head.form_version,
                "issues": msgspec.to_builtins(item.issues),
                "meta": item.metadata or None,
                **folding.point_columns(answers, item.location_path),  # the merged answers' point
                "updated_by": access.user.id,
            }
            state[record_id] = current
        elif current.get("meta", head.meta) != (item.metadata or None):  # the same answers, sent anew
            state[record_id] = current = {**current, "meta": item.metadata or None}
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
    return state, conflicts, observations
