"""The rows intake and review write beside a record: review pairs and revisions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from survey_api.intake import placement as dedup
from survey_api.intake.items import Item
from survey_api.stores.duplicates import PairRow
from survey_api.stores.records import RecordRow, RevisionRow
from survey_api.web.access import ProjectAccess
from sync import candidates


def pair_row(
    access: ProjectAccess,
    item: Item,
    placement: dedup.Placement,
    snapshot: dict[str, Any] | None,
    now: datetime,
) -> PairRow:
    """A review pair (undecided), or an automatic merge decided by "system" with what undo needs."""
    assert item.form is not None and item.new_id is not None
    merged = snapshot is not None
    return PairRow(
        id=uuid.uuid4(),
        project_id=access.id,
        form_id=item.form.id,
        record_id=item.new_id,
        candidate_id=placement.target,
        score=placement.score.total,
        breakdown=candidates.breakdown(placement.score),
        decision="merge" if merged else None,
        decided_by="system" if merged else None,
        decided_at=now if merged else None,
        kept_id=placement.target if merged else None,
        snapshot=snapshot,
    )


def first_revision(record: RecordRow) -> RevisionRow:
    """Revision 1 from a new record's row; otherwise written by the update that first moves the record
    on (migration 0003), so intake writes none for records that stay at revision 1."""
    return RevisionRow(
        record_id=record.id,
        revision=1,
        kind="create",
        submission_uuid=record.submission_uuid,
        user_id=record.created_by,
        answers=record.answers,
        changed=[],
    )


def revision_row(
    record_id: uuid.UUID,
    revision: int,
    kind: str,
    item: Item | None,
    access: ProjectAccess,
    answers: dict[str, Any] | None,
    changed: list[str],
) -> RevisionRow:
    return RevisionRow(
        record_id=record_id,
        revision=revision,
        kind=kind,
        submission_uuid=item.uuid if item else None,
        user_id=access.user.id,
        answers=answers,
        changed=changed,
    )
