from datetime import UTC, datetime, timedelta

import pytest

from sync.errors import InvalidRule
from sync.survivorship import Observation, survive

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def obs(record_id, minutes, answers, accuracy=None):
    return Observation(
        record_id=record_id, submitted_at=T0 + timedelta(minutes=minutes), answers=answers, accuracy=accuracy
    )


A = obs(
    "a",
    0,
    {
        "name": "ป้าศรี",
        "width_m": 1.8,
        "obstacles": ["vendor"],
        "loc": {"lat": 1.0, "lon": 2.0, "accuracy": 4.0},
    },
)
B = obs(
    "b",
    10,
    {
        "name": "ร้านข้าวแกงป้าศรี",
        "width_m": 2.1,
        "obstacles": ["other", "vendor"],
        "loc": {"lat": 1.1, "lon": 2.1, "accuracy": 12.0},
    },
)
C = obs("c", 20, {"name": "", "width_m": 1.5, "loc": {"lat": 1.2, "lon": 2.2, "accuracy": 0.0}})


def test_defaults_latest_non_empty_and_best_accuracy_for_location():
    out = survive([C, A, B], {}, location_path="loc")
    assert out["name"] == "ร้านข้าวแกงป้าศรี"  # C's empty name does not win
    assert out["width_m"] == 1.5
    assert out["loc"] == A.answers["loc"]  # 4 m beats 12 m; 0 m (mocked) ranks last
    assert out["obstacles"] == ["other", "vendor"]


def test_rules():
    rules = {"name": "first", "width_m": "max", "obstacles": "union"}
    out = survive([A, B, C], rules, location_path="loc")
    assert out["name"] == "ป้าศรี" and out["width_m"] == 2.1 and out["obstacles"] == ["vendor", "other"]
    assert survive([A, B, C], {"width_m": "min", "name": "most_complete"})["width_m"] == 1.5
    assert survive([A, B, C], {"name": "most_complete"})["name"] == "ร้านข้าวแกงป้าศรี"


def test_observation_accuracy_is_used_when_the_value_has_none():
    x = obs("x", 0, {"loc": {"lat": 1.0, "lon": 2.0}}, accuracy=3.0)
    y = obs("y", 5, {"loc": {"lat": 1.5, "lon": 2.5}}, accuracy=30.0)
    assert survive([y, x], {}, location_path="loc")["loc"] == {"lat": 1.0, "lon": 2.0}


def test_groups_survive_per_leaf_and_group_rules_apply_inside():
    x = obs("x", 0, {"addr": {"street": "Mittraphap", "no": "12"}})
    y = obs("y", 5, {"addr": {"street": "Mittraphap Rd", "no": None}})
    assert survive([x, y], {}) == {"addr": {"street": "Mittraphap Rd", "no": "12"}}
    assert survive([x, y], {"addr": "first"}) == {"addr": {"street": "Mittraphap", "no": "12"}}


def test_deterministic_whatever_the_input_order_and_undo_is_recomputing():
    rules = {"obstacles": "union"}
    assert survive([A, B, C], rules, "loc") == survive([C, B, A], rules, "loc")
    without_b = survive([A, C], rules, "loc")
    assert without_b["name"] == "ป้าศรี" and without_b["obstacles"] == ["vendor"]
    assert survive([], rules) == {}


def test_unknown_rule_is_refused():
    with pytest.raises(InvalidRule):
        survive([A], {"name": "loudest"})
