"""Folding one record into another as an observation, and undoing it.

A record holds observation rows only while other records are merged into it: its own (taken from its
answers at its first merge), one per record folded in, and one per edit made meanwhile (just the
fields the edit changed, so survivorship keeps the edit). The survivor's answers are `survive` over
them. Undo hands the merged record's observations back and restores the survivor from the pair's
snapshot when nothing touched it since, otherwise recomputes it from the observations that remain.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from forms.model import DedupPolicy
from sync.grid import cell_key
from sync.merge import changed_paths, get_path, is_point
from sync.survivorship import Observation, survive

CELL_M = 100.0  # the duplicate index's grid cell size: fixed once records carry cells
RECORD_STATE = (
    "answers", "revision", "status", "lat", "lon", "accuracy", "cell_x", "cell_y", "observations", "issues",
)  # fmt: skip


class ObservationRow(msgspec.Struct, frozen=True, kw_only=True):
    """What one observation row of a record holds (the `observations` table's columns)."""

    record_id: uuid.UUID  # the holder
    origin_id: uuid.UUID  # the record it was made of (the holder itself for its own and its edits)
    kind: str  # "survey" or "edit"
    submission_uuid: str | None
    answers: dict[str, Any]
    accuracy: float | None
    observed_at: datetime | None


class Folded(msgspec.Struct, kw_only=True):
    """The survivor after a fold: its new columns, the observations to insert, the origins that moved."""

    values: dict[str, Any]
    changed: list[str]
    held: list[ObservationRow]
    inserts: list[ObservationRow]
    moved: list[uuid.UUID]
    origins: list[uuid.UUID]


def observation(
    holder: uuid.UUID, record: dict[str, Any], *, submission: str | None = None
) -> ObservationRow:
    """An observation row made of a record's state (its id is the origin)."""
    return ObservationRow(
        record_id=holder,
        origin_id=record["id"],
        kind="survey",
        submission_uuid=submission,
        answers=record["answers"],
        accuracy=record.get("accuracy"),
        observed_at=record.get("observed_at") or record.get("created_at"),
    )


def edit_observation(
    record_id: uuid.UUID, answers: dict[str, Any], changed: list[str], at: datetime, submission: str | None
) -> ObservationRow:
    """The fields an edit changed, as an observation of the record it edited (newest of all)."""
    partial: dict[str, Any] = {}
    for path in changed:
        leaf = leaf_of(path)
        node = partial
        segments = leaf.split("/")
        for segment in segments[:-1]:
            node = node.setdefault(segment, {})
        node[segments[-1]] = get_path(answers, leaf)
    return ObservationRow(
        record_id=record_id,
        origin_id=record_id,
        kind="edit",
        submission_uuid=submission,
        answers=partial,
        accuracy=None,
        observed_at=at,
    )


def leaf_of(path: str) -> str:
    """The value survivorship picks as one: a repeat (cut at the item index) or a geopoint is whole."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if segment.isdigit():
            return "/".join(segments[:i])
    return path


def fold(
    survivor: dict[str, Any],
    survivor_held: list[ObservationRow],
    merged: dict[str, Any],
    merged_held: list[ObservationRow],
    policy: DedupPolicy,
    location_path: str | None,
    submission: str | None = None,
) -> Folded:
    """The survivor with `merged` folded in; the rows given are what each holds now."""
    inserts: list[ObservationRow] = []
    if not survivor_held:
        survivor_held = [observation(survivor["id"], survivor)]
        inserts += survivor_held
    moved: list[uuid.UUID] = []
    if merged_held:
        moved = list(dict.fromkeys(r.origin_id for r in merged_held))
        incoming = [msgspec.structs.replace(r, record_id=survivor["id"]) for r in merged_held]
    else:
        incoming = [observation(survivor["id"], merged, submission=submission)]
        inserts += incoming
    held = survivor_held + incoming
    answers = answers_of(held, policy, location_path)
    values = {
        "id": survivor["id"],
        "answers": answers,
        "revision": survivor["revision"] + 1,
        "observations": sum(1 for r in held if r.kind == "survey"),
        **point_columns(answers, location_path),
    }
    return Folded(
        values=values,
        changed=changed_paths(survivor["answers"], answers),
        held=held,
        inserts=inserts,
        moved=moved,
        origins=list(dict.fromkeys(r.origin_id for r in incoming)),
    )


def answers_of(held: list[ObservationRow], policy: DedupPolicy, location_path: str | None) -> dict[str, Any]:
    observations = [
        Observation(
            record_id=str(r.origin_id), submitted_at=r.observed_at, answers=r.answers, accuracy=r.accuracy
        )
        for r in held
    ]
    return survive(observations, policy.survivorship, location_path)


NO_POINT: dict[str, Any] = {"lat": None, "lon": None, "accuracy": None, "cell_x": None, "cell_y": None}


def point_columns(answers: dict[str, Any], location_path: str | None) -> dict[str, Any]:
    """A record's lat/lon/accuracy and grid cell (the duplicate index), from the point in its answers."""
    point = get_path(answers, location_path) if location_path else None
    if not is_point(point) or point.get("lat") is None or point.get("lon") is None:
        return dict(NO_POINT)
    lat, lon = float(point["lat"]), float(point["lon"])
    cell_x, cell_y = cell_key(lat, lon, CELL_M)
    return {"lat": lat, "lon": lon, "accuracy": point.get("accuracy"), "cell_x": cell_x, "cell_y": cell_y}


def snapshot(survivor: dict[str, Any], folded: Folded) -> dict[str, Any]:
    """What undo needs: the survivor before, its revision after, the observations that moved to it."""
    return {
        "survivor": msgspec.to_builtins({k: survivor.get(k) for k in RECORD_STATE}),
        "survivor_revision": folded.values["revision"],
        "origins": [str(o) for o in folded.origins],
    }


def state(row: Any) -> dict[str, Any]:
    """A record (a stored row, or one this batch inserts) as the plain dict the fold works on."""
    return {
        "id": row.id,
        "created_at": row.created_at,
        "observed_at": row.observed_at,
        **{k: getattr(row, k) for k in RECORD_STATE},
    }


def held_rows(rows: list[Any]) -> list[ObservationRow]:
    """Stored observation rows (anything with their columns as attributes) as the fold takes them."""
    return [
        ObservationRow(
            record_id=r.record_id,
            origin_id=r.origin_id,
            kind=r.kind,
            submission_uuid=r.submission_uuid,
            answers=r.answers,
            accuracy=r.accuracy,
            observed_at=r.observed_at,
        )
        for r in rows
    ]
