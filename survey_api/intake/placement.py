"""Placing new submissions among existing records: same thing seen again, maybe the same, or new.

One candidate query per batch through the grid-cell index (and the content hash, for double taps);
scoring is `sync.dedup`'s. Items of one batch are candidates for the items after them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

import msgspec

from forms.validate import Validator
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.intake.items import Item
from survey_api.stores import duplicates as store
from sync.dedup import Candidate, Incoming, Match, Policy, Score, best_match, is_double_tap
from sync.folding import CELL_M
from sync.grid import search_area


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    decision: str  # "merge" or "review"
    target: uuid.UUID
    score: Score


def policy_of(form: tables.Form, definition: dict[str, Any]) -> Policy | None:
    """The form's policy as last PUT, else the `dedup` block of the version; None: double taps only."""
    raw = form.dedup_policy if form.dedup_policy is not None else definition.get("dedup")
    return msgspec.convert(raw, Policy) if raw is not None else None


def location_path(policy: Policy | None, validator: Validator) -> str | None:
    """Where a record's location is: the policy's `location_field` (a PUT may name another geopoint
    than the version's), else the validator's (the version's dedup block, else its first geopoint)."""
    return (policy.location_field if policy is not None else None) or validator.location_path


def match(
    policy: Policy | None,
    here: Incoming,
    found: list[Candidate],
    field_types: dict[str, str],
    known: Collection[frozenset[str]] = frozenset(),
) -> Match | None:
    """The best candidate under the policy; without a policy only a double tap is a duplicate."""
    if policy is None:
        found = [c for c in found if is_double_tap(here, c)]
    return best_match(policy or Policy(), here, found, known, field_types)


def incoming(item: Item) -> Incoming:
    """The item as scoring sees it; its time is the device's (corrected), never the server's guess."""
    return Incoming(
        uuid=item.uuid,
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


def nested(fields: dict[str, Any] | None) -> dict[str, Any]:
    """Answers holding just the given values, `{"a/b": 1}` -> `{"a": {"b": 1}}`; null ones left out."""
    answers: dict[str, Any] = {}
    for path, value in sorted((fields or {}).items()):
        if value is None:
            continue
        if "/" not in path:  # most match fields are top-level
            answers[path] = value
            continue
        *parents, leaf = path.split("/")
        node: Any = answers
        for name in parents:
            node = node.setdefault(name, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[leaf] = value
    return answers


def match_fields(items: Iterable[Item]) -> dict[uuid.UUID, list[str]]:
    """The paths scoring compares, by form: its items' policies' match fields (versions may differ)."""
    fields: dict[uuid.UUID, set[str]] = defaultdict(set)
    for item in items:
        if item.form is not None and item.policy is not None:
            fields[item.form.id].update(item.policy.match_fields)
    return {form: sorted(paths) for form, paths in fields.items()}


class Index:
    """Candidates by (form, cell) and (form, content hash): the database's, then this batch's."""

    def __init__(self) -> None:
        self.by_cell: dict[tuple[uuid.UUID, int, int], list[Candidate]] = defaultdict(list)
        self.by_hash: dict[tuple[uuid.UUID, str], list[Candidate]] = defaultdict(list)

    def add(self, form_id: uuid.UUID, found: Candidate, cell: tuple[int | None, int | None]) -> None:
        """`cell`: the grid cell the candidate's point is stored under (None, None without a point)."""
        if found.lat is not None and found.lon is not None:
            self.by_cell[(form_id, *cell)].append(found)
        if found.content_hash is not None:
            self.by_hash[(form_id, found.content_hash)].append(found)

    def add_stored(self, row: store.CandidateRow) -> None:
        """A stored record found by `store.candidates`, in the cell it is stored under."""
        self.add(row[1], candidate(row), (row[9], row[10]))

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
        index.add_stored(row)

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
                candidate_of(here, str(item.new_id)),
                (item.point["cell_x"], item.point["cell_y"]),
            )
    return placements


def search(form_id: uuid.UUID, lat: float, lon: float, radius_m: float) -> list[store.Probe]:
    """The index probes for a circle: each grid cell it touches, with the circle's bounding box."""
    cells, (south, north, west, east) = search_area(lat, lon, radius_m, CELL_M)
    return [(form_id, x, y, south, north, west, east) for x, y in cells]


def candidate_of(here: Incoming, record_id: str) -> Candidate:
    return Candidate(
        record_id=record_id,
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
