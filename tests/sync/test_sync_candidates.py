"""Candidates of a batch: the index, the best match under a policy, what a reviewer sees."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from forms.model import DedupPolicy
from sync.candidates import Index, breakdown, match, nested
from sync.dedup import Candidate

FORM = uuid.uuid4()


def test_the_index_finds_candidates_by_cell_and_by_content_hash_once_each() -> None:
    index = Index()
    near = Candidate(record_id="a", lat=14.97, lon=102.1, content_hash="h1")
    hashed = Candidate(record_id="b", content_hash="h2")
    index.add(FORM, near, (1, 2))
    index.add(FORM, hashed, (None, None))
    assert [c.record_id for c in index.near(FORM, [(1, 2), (1, 3)], "h1")] == ["a"]
    assert [c.record_id for c in index.near(FORM, [], "h2")] == ["b"]
    assert index.near(uuid.uuid4(), [(1, 2)], "h1") == []


def test_without_a_policy_only_a_double_tap_matches() -> None:
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a tap needs device times, minutes apart at most
    here = Candidate(
        lat=14.97, lon=102.1, answers={"shop_name": "x"}, device_id="t", content_hash="h", observed_at=at
    )
    other = msgspec.structs.replace(here, record_id="r", device_id="other")
    tap = msgspec.structs.replace(here, record_id="t1")
    assert match(None, here, [other], {}) is None
    found = match(None, here, [other, tap], {})
    assert found is not None and found.record_id == "t1" and found.score.double_tap


def test_a_policy_matches_by_distance_and_fields_and_the_breakdown_says_why() -> None:
    policy = DedupPolicy(radius_m=30, match_fields=["shop_name"])
    here = Candidate(lat=14.9730, lon=102.1, answers={"shop_name": "ร้านป้าศรี"})
    there = Candidate(record_id="r", lat=14.97301, lon=102.1, answers={"shop_name": "ร้านป้าศรี"})
    found = match(policy, here, [there], {"shop_name": "text"})
    assert found is not None and found.decision == "merge"
    seen = breakdown(found.score)
    assert seen["fields"] == {"shop_name": 1.0} and seen["distance_m"] < 2 and seen["missing"] == []


def test_nested_rebuilds_answers_from_paths_and_leaves_nulls_out() -> None:
    assert nested({"a/b": 1, "c": "x", "d": None}) == {"a": {"b": 1}, "c": "x"}
    assert nested(None) == {}
