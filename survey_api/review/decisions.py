"""A coordinator's duplicate decisions: merge (keeping either record), distinct, and undo of any merge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from forms.errors import Problem
from forms.model import DedupPolicy
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.errors import Conflict, Invalid
from survey_api.intake import placement as dedup
from survey_api.intake.items import Validators
from survey_api.intake.rows import revision_row
from survey_api.stores import duplicates as store
from survey_api.stores import forms
from survey_api.stores import records as records_store
from survey_api.web.access import ProjectAccess
from sync import candidates, folding
from sync.merge import changed_paths


async def merge(
    db: Session,
    access: ProjectAccess,
    pair: tables.DuplicatePair,
    keep: uuid.UUID | None,
    validators: Validators,
    *,
    by_system: bool = False,
) -> None:
    """Fold the other record of an undecided pair into `keep` (default: the earlier record)."""
    if pair.decision is not None:
        raise Conflict(f"This pair is already decided ({pair.decision}); undo that first.")
    keep = keep or pair.candidate_id
    if keep not in (pair.record_id, pair.candidate_id):
        raise Invalid(
            "keep must be one of the pair's two records.",
            [Problem(loc=["body", "keep"], code="not_in_pair", message=str(keep))],
        )
    other = pair.candidate_id if keep == pair.record_id else pair.record_id
    locked = await records_store.heads(db, [keep, other])
    survivor, merged = locked[keep], locked[other]
    for row in (survivor, merged):
        if row.merged_into is not None:
            raise Conflict(f"Record {row.id} was merged into {row.merged_into}; decide on that record.")
    policy, location_path = await policy_and_location(db, access, survivor, validators)
    held = await store.observations(db, [keep, other])
    before = folding.state(survivor)
    folded = folding.fold(
        before,
        folding.held_rows(held[keep]),
        folding.state(merged),
        folding.held_rows(held[other]),
        policy,
        location_path,
    )
    await store.add_observations(db, folded.inserts)
    await store.move_observations(db, other, folded.moved, keep)
    values = {**folded.values, "updated_by": access.user.id}
    await records_store.update_records(
        db, [values, {"id": other, "merged_into": keep, "duplicate_of": keep, "status": "merged"}]
    )
    await records_store.add_revisions(
        db,
        [revision_row(keep, values["revision"], "merge", None, access, values["answers"], folded.changed)],
    )
    await store.decide(
        db,
        pair.id,
        decision="merge",
        decided_by="system" if by_system else access.user.email,
        decided_by_user=None if by_system else access.user.id,
        decided_at=datetime.now(UTC),
        kept_id=keep,
        snapshot=folding.snapshot(before, folded),
    )
    await reflag(db, keep)


async def distinct(db: Session, pair: tables.DuplicatePair, access: ProjectAccess) -> None:
    """Two different things: the pair is never proposed again and the flagged record is cleared."""
    if pair.decision is not None:
        raise Conflict(f"This pair is already decided ({pair.decision}); undo that first.")
    await store.decide(
        db,
        pair.id,
        decision="distinct",
        decided_by=access.user.email,
        decided_by_user=access.user.id,
        decided_at=datetime.now(UTC),
    )
    await reflag(db, pair.record_id)


async def undo(
    db: Session, access: ProjectAccess, pair: tables.DuplicatePair, validators: Validators
) -> None:
    """Reverse a decision; a merge gives the merged record back and restores the survivor."""
    if pair.decision == "distinct":
        await store.decide(db, pair.id, decision=None, decided_by=None, decided_by_user=None, decided_at=None)
        await reflag(db, pair.record_id)
        return
    if pair.decision != "merge" or pair.kept_id is None or pair.snapshot is None:
        raise Conflict("This pair has no decision to undo.")
    keep = pair.kept_id
    other = pair.candidate_id if keep == pair.record_id else pair.record_id
    locked = await records_store.heads(db, [keep, other])
    survivor = locked[keep]
    if survivor.merged_into is not None:
        raise Conflict(
            f"Record {keep} was itself merged into {survivor.merged_into} since; undo that merge first."
        )
    snapshot = pair.snapshot
    await store.move_observations(db, keep, [uuid.UUID(o) for o in snapshot["origins"]], other)
    held = await store.observations(db, [keep, other])
    if all(r.origin_id == other for r in held[other]):
        await store.drop_observations(db, other)  # nothing else is merged into it: its answers are its own
    if survivor.revision == snapshot["survivor_revision"]:  # untouched since: restore exactly
        values = {k: snapshot["survivor"][k] for k in folding.RECORD_STATE if k != "revision"}
    else:
        policy, location_path = await policy_and_location(db, access, survivor, validators)
        rows = folding.held_rows(held[keep])
        answers = folding.answers_of(rows, policy, location_path) if rows else survivor.answers
        values = {
            "answers": answers,
            "observations": max(1, sum(1 for r in rows if r.kind == "survey")),
            **folding.point_columns(answers, location_path),
        }
    if all(r.origin_id == keep for r in held[keep]):
        await store.drop_observations(db, keep)
    revision = survivor.revision + 1
    changed = changed_paths(survivor.answers, values["answers"])
    await records_store.update_records(
        db,
        [
            {**values, "id": keep, "revision": revision, "updated_by": access.user.id},
            {"id": other, "merged_into": None, "status": "ok", "duplicate_of": None},
        ],
    )
    await records_store.add_revisions(
        db, [revision_row(keep, revision, "unmerge", None, access, values["answers"], changed)]
    )
    await store.decide(
        db,
        pair.id,
        decision=None,
        decided_by=None,
        decided_by_user=None,
        decided_at=None,
        kept_id=None,
        snapshot=None,
    )
    for record_id in dict.fromkeys((pair.record_id, other)):
        await reflag(db, record_id)


async def reflag(db: Session, record_id: uuid.UUID) -> None:
    """A live record is `possible_duplicate` of its newest undecided pair's candidate, else `ok`."""
    [row] = (await records_store.heads(db, [record_id])).values()
    if row.merged_into is not None or row.status == "conflict":
        return
    candidate = await store.open_candidate(db, record_id)
    status = "possible_duplicate" if candidate is not None else "ok"
    if (row.status, row.duplicate_of) != (status, candidate):
        await records_store.update_records(
            db, [{"id": record_id, "status": status, "duplicate_of": candidate}]
        )


async def policy_and_location(
    db: Session, access: ProjectAccess, record: tables.Record, validators: Validators
) -> tuple[DedupPolicy, str | None]:
    form = await forms.by_id(db, record.form_id)
    version = await forms.version(db, record.form_id, record.form_version)
    assert form is not None and version is not None
    policy = dedup.policy_of(form, version.definition)
    return policy or DedupPolicy(), candidates.location_path(policy, validators.get(version, access.timezone))


async def note_edit(
    db: Session,
    record: tables.Record,
    answers: dict[str, Any],
    changed: list[str],
    submission: str | None,
) -> None:
    """An edit of a record that others are merged into is kept as its newest observation."""
    if record.observations > 1 and changed:
        row = folding.edit_observation(record.id, answers, changed, datetime.now(UTC), submission)
        await store.add_observations(db, [row])


def refuse_merged(record: tables.Record) -> None:
    if record.merged_into is not None:
        raise Conflict(f"Record {record.id} was merged into {record.merged_into}; edit that one.")


def describe(pair: tables.DuplicatePair) -> dict[str, Any]:
    """The audit detail of a decision."""
    return {"record_id": str(pair.record_id), "candidate_id": str(pair.candidate_id), "score": pair.score}
