"""Placing new submissions among existing records: same thing seen again, maybe the same, or new.

One candidate query per batch through the grid-cell index (and the content hash, for double taps);
scoring is `sync.dedup`'s. Items of one batch are candidates for the items after them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec

from forms.model import DedupPolicy
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.intake.items import Item
from survey_api.stores import duplicates as store
from sync.batch import Placed
from sync.candidates import Index, match, nested
from sync.dedup import Candidate, Score
from sync.folding import CELL_M
from sync.grid import search_area


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    decision: Placed
    target: uuid.UUID
    score: Score


def policy_of(form: tables.Form, definition: dict[str, Any]) -> DedupPolicy | None:
    """The form's policy as last PUT, else the `dedup` block of the version; None: double taps only."""
    raw = form.dedup_policy if form.dedup_policy is not None else definition.get("dedup")
    return msgspec.convert(raw, DedupPolicy) if raw is not None else None


def incoming(item: Item) -> Candidate:
    """The item as scoring sees it; its time is the device's (corrected), never the server's guess."""
    return Candidate(
        lat=item.point["lat"],
        lon=item.point["lon"],
        answers=item.answers,
        observed_at=item.ended_at or item.started_at,
        device_id=item.device_id,
        content_hash=item.hash,
    )


def candidate(row: store.CandidateRow) -> Candidate:
    record_id, _, lat, lon, fields, observed_at, device_id, content_hash, *_ = row
    return Candidate(
        record_id=str(record_id),
        lat=lat,
        lon=lon,
        answers=nested(fields),
        observed_at=observed_at,
        device_id=device_id,
        content_hash=content_hash,
    )


def match_fields(items: Iterable[Item]) -> dict[uuid.UUID, list[str]]:
    """The paths scoring compares, by form: its items' policies' match fields (versions may differ)."""
    fields: dict[uuid.UUID, set[str]] = defaultdict(set)
    for item in items:
        if item.form is not None and item.policy is not None:
            fields[item.form.id].update(item.policy.match_fields)
    return {form: sorted(paths) for form, paths in fields.items()}


async def place(db: Session, items: list[Item]) -> dict[int, Placement]:
    """Item index -> where it goes, for new items (their `new_id` already drawn); absent: a new record."""
    cells: dict[int, list[tuple[int, int]]] = {}
    probes: list[store.Probe] = []
    wanted_hashes: list[tuple[uuid.UUID, str]] = []
    for item in items:
        assert item.form is not None and item.version is not None
        if item.point["lat"] is not None:  # a double tap has the very same point: radius 0 finds it
            radius = item.policy.radius_m if item.policy is not None else 0.0
            found = search(item.form.id, item.point["lat"], item.point["lon"], radius)
            probes += found
            cells[item.index] = [(p[1], p[2]) for p in found]
        elif item.hash is not None and item.device_id is not None:
            wanted_hashes.append((item.form.id, item.hash))
    index = Index()
    for row in await store.candidates(db, probes, wanted_hashes, match_fields(items)):
        add_stored(index, row)

    placements: dict[int, Placement] = {}
    for item in items:
        assert item.form is not None
        here = incoming(item)
        found = index.near(item.form.id, cells.get(item.index, ()), item.hash)
        best = match(item.policy, here, found, item.field_types)
        if best is not None:
            decision = "merge" if best.decision == "merge" else "review"
            placements[item.index] = Placement(
                decision=decision, target=uuid.UUID(best.record_id), score=best.score
            )
        if best is None or best.decision != "merge":  # a later item of the batch may match this one
            index.add(
                item.form.id,
                msgspec.structs.replace(here, record_id=str(item.new_id)),
                (item.point["cell_x"], item.point["cell_y"]),
            )
    return placements


def search(form_id: uuid.UUID, lat: float, lon: float, radius_m: float) -> list[store.Probe]:
    """The index probes for a circle: each grid cell it touches, with the circle's bounding box."""
    cells, (south, north, west, east) = search_area(lat, lon, radius_m, CELL_M)
    return [(form_id, x, y, south, north, west, east) for x, y in cells]


def add_stored(index: Index, row: store.CandidateRow) -> None:
    """A stored record found by `store.candidates`, in the cell it is stored under."""
    index.add(row[1], candidate(row), (row[9], row[10]))
