"""Placing new submissions among existing records: same thing seen again, maybe the same, or new.

One candidate query per batch through the grid-cell index (and the content hash, for double taps);
scoring is `sync.dedup`'s. Items of one batch are candidates for the items after them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from forms.model import iter_fields, load_definition
from survey_api import tables
from survey_api.folding import CELL_M
from survey_api.stores import dedup as store
from sync.dedup import Candidate, Incoming, Match, Policy, Score, best_match, is_double_tap
from sync.grid import bounding_box, cell_key, neighbour_cells

if TYPE_CHECKING:
    from survey_api.intake import Item


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    decision: str  # "merge" or "review"
    target: uuid.UUID
    score: Score


def policy_of(form: tables.Form, definition: dict[str, Any]) -> Policy | None:
    """The form's policy as last PUT, else the `dedup` block of the version; None: double taps only."""
    raw = form.dedup_policy if form.dedup_policy is not None else definition.get("dedup")
    return msgspec.convert(raw, Policy) if raw is not None else None


class FieldTypes:
    """Field types by path per form version, for the exact-or-fuzzy choice of each match field."""

    def __init__(self) -> None:
        self._cache: dict[uuid.UUID, dict[str, str]] = {}

    def get(self, version: tables.FormVersion) -> dict[str, str]:
        found = self._cache.get(version.id)
        if found is None:
            found = {p: f.type for p, f in iter_fields(load_definition(version.definition))}
            self._cache[version.id] = found
        return found


def incoming(item: Item) -> Incoming:
    """The item as scoring sees it; its time is the device's (corrected), never the server's guess."""
    lat, lon = (item.location[0], item.location[1]) if item.location else (None, None)
    return Incoming(
        uuid=item.uuid,
        lat=lat,
        lon=lon,
        answers=item.answers,
        observed_at=item.ended_at or item.started_at,
        device_id=item.device_id,
        content_hash=item.hash,
    )


def candidate(row: store.CandidateRow) -> Candidate:
    record_id, _, lat, lon, answers, observed_at, device_id, content_hash, _ = row
    return Candidate(
        record_id=str(record_id),
        lat=lat,
        lon=lon,
        answers=answers,
        observed_at=observed_at,
        device_id=device_id,
        content_hash=content_hash,
    )


class Index:
    """Candidates by (form, cell) and (form, content hash): the database's, then this batch's."""

    def __init__(self) -> None:
        self.by_cell: dict[tuple[uuid.UUID, int, int], list[Candidate]] = defaultdict(list)
        self.by_hash: dict[tuple[uuid.UUID, str], list[Candidate]] = defaultdict(list)

    def add(self, form_id: uuid.UUID, found: Candidate) -> None:
        if found.lat is not None and found.lon is not None:
            self.by_cell[(form_id, *cell_key(found.lat, found.lon, CELL_M))].append(found)
        if found.content_hash is not None:
            self.by_hash[(form_id, found.content_hash)].append(found)

    def near(
        self, form_id: uuid.UUID, cells: Iterable[tuple[int, int]], content_hash: str | None
    ) -> list[Candidate]:
        seen: dict[str, Candidate] = {}
        for x, y in cells:
            for found in self.by_cell.get((form_id, x, y), ()):
                seen.setdefault(found.record_id, found)
        for found in self.by_hash.get((form_id, content_hash or ""), ()):
            seen.setdefault(found.record_id, found)
        return list(seen.values())


async def place(db: AsyncSession, items: list[Item], types: FieldTypes) -> dict[int, Placement]:
    """Item index -> where it goes, for new items (their `new_id` already drawn); absent: a new record."""
    policies: dict[int, Policy | None] = {}
    cells: dict[int, list[tuple[int, int]]] = {}
    probes: list[store.Probe] = []
    wanted_hashes: list[tuple[uuid.UUID, str]] = []
    for item in items:
        assert item.form is not None and item.version is not None
        policy = policies[item.index] = policy_of(item.form, item.version.definition)
        if item.location is not None:  # a double tap has the very same point: radius 0 finds it
            radius = policy.radius_m if policy is not None else 0.0
            found = search(item.form.id, item.location[0], item.location[1], radius)
            probes += found
            cells[item.index] = [(p[1], p[2]) for p in found]
        elif item.hash is not None and item.device_id is not None:
            wanted_hashes.append((item.form.id, item.hash))
    index = Index()
    for row in await store.candidates(db, probes, wanted_hashes):
        index.add(row[1], candidate(row))

    placements: dict[int, Placement] = {}
    for item in items:
        assert item.form is not None and item.version is not None
        policy = policies[item.index]
        here = incoming(item)
        found = index.near(item.form.id, cells.get(item.index, ()), item.hash)
        if policy is None:  # no policy: only a double tap is a duplicate
            found = [c for c in found if is_double_tap(here, c)]
        match: Match | None = best_match(policy or Policy(), here, found, field_types=types.get(item.version))
        if match is not None:
            decision = "merge" if match.decision == "merge" else "review"
            placements[item.index] = Placement(
                decision=decision, target=uuid.UUID(match.record_id), score=match.score
            )
        if match is None or match.decision != "merge":
            index.add(
                item.form.id,
                msgspec.structs.replace(candidate_of(here), record_id=str(item.new_id)),
            )
    return placements


def search(form_id: uuid.UUID, lat: float, lon: float, radius_m: float) -> list[store.Probe]:
    """The index probes for a circle: each grid cell it touches, with the circle's bounding box."""
    box = bounding_box(lat, lon, radius_m)
    return [(form_id, x, y, *box) for x, y in neighbour_cells(lat, lon, radius_m, CELL_M)]


def candidate_of(here: Incoming) -> Candidate:
    return Candidate(
        record_id="",
        lat=here.lat,
        lon=here.lon,
        answers=here.answers,
        observed_at=here.observed_at,
        device_id=here.device_id,
        content_hash=here.content_hash,
    )


def breakdown(score: Score) -> dict[str, Any]:
    """What a reviewer sees of a score: distance, per-field similarity, missing fields, double tap."""
    return {
        "distance_m": score.distance_m,
        "fields": score.fields,
        "missing": score.missing,
        "double_tap": score.double_tap,
    }
