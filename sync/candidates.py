"""Candidates of a batch or a rescan: an index by grid cell and content hash, the best match under a
policy, and what a reviewer sees of a score. Pure: the shell loads the candidates and writes the outcome."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from forms.model import DedupPolicy
from forms.validate import Validator
from sync.dedup import Candidate, Match, Score, best_match, is_double_tap


def location_path(policy: DedupPolicy | None, validator: Validator) -> str | None:
    """Where a record's location is: the policy's `location_field` (a PUT may name another geopoint
    than the version's), else the validator's (the version's dedup block, else its first geopoint)."""
    return (policy.location_field if policy is not None else None) or validator.location_path


def match(
    policy: DedupPolicy | None,
    here: Candidate,
    found: list[Candidate],
    field_types: dict[str, str],
    known: Collection[frozenset[str]] = frozenset(),
) -> Match | None:
    """The best candidate under the policy; without a policy only a double tap is a duplicate."""
    if policy is None:
        found = [c for c in found if is_double_tap(here, c)]
    return best_match(policy or DedupPolicy(), here, found, known, field_types)


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


def breakdown(score: Score) -> dict[str, Any]:
    """What a reviewer sees of a score: distance, per-field similarity, missing fields, double tap."""
    return {
        "distance_m": score.distance_m,
        "fields": score.fields,
        "missing": score.missing,
        "double_tap": score.double_tap,
    }
