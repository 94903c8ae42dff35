from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync.errors import InvalidArea
from sync.hashing import content_hash
from sync.normalize import area_from_geojson, clock_skew, correct, outside_area, point_problem

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BKK = timezone(timedelta(hours=7))


def test_skew_is_server_minus_device():
    assert clock_skew(datetime(2026, 11, 20, 16, 0, tzinfo=BKK), NOW) == timedelta(hours=1)
    assert clock_skew(None, NOW) == timedelta(0)


def test_transit_time_is_not_skew():
    assert clock_skew(NOW - timedelta(seconds=40), NOW) == timedelta(0)


def test_reset_clock_is_corrected_but_garbage_is_ignored():
    sent = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
    skew = clock_skew(sent, NOW)
    assert correct(datetime(1970, 1, 1, 0, 1, tzinfo=UTC), skew) == NOW - timedelta(minutes=4)
    assert clock_skew(datetime(1, 1, 1, tzinfo=UTC), NOW) == timedelta(0)


def test_correct_returns_utc_and_reads_naive_times_in_the_given_zone():
    out = correct(datetime(2026, 11, 20, 9, 0), timedelta(minutes=10), assume_tz=BKK)
    assert out == datetime(2026, 11, 20, 2, 10, tzinfo=UTC) and out.tzinfo is UTC
    assert correct(None, timedelta(hours=1)) is None
    assert correct(datetime(9999, 12, 31, tzinfo=UTC), timedelta(days=5)) == datetime(
        9999, 12, 31, tzinfo=UTC
    )


SQUARE = {
    "type": "Polygon",
    "coordinates": [[[102.0, 14.9], [102.2, 14.9], [102.2, 15.1], [102.0, 15.1], [102.0, 14.9]]],
}


def test_outside_area():
    area = area_from_geojson({"type": "Feature", "properties": {}, "geometry": SQUARE})
    assert not outside_area((102.08, 14.97), area)
    assert outside_area((100.5, 13.75), area)
    assert not outside_area((102.0, 15.0), area)  # on the boundary
    assert not outside_area((0.0, 0.0), None)


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "Point", "coordinates": [102.0, 14.9]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},  # bow tie
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [200, 1], [0, 0]]]},
        [1, 2],
    ],
)
def test_invalid_area(obj):
    with pytest.raises(InvalidArea):
        area_from_geojson(obj)


def test_point_problem_spots_swapped_coordinates():
    assert point_problem(14.97, 102.08) is None
    assert "swapped" in (point_problem(102.08, 14.97) or "")
    assert point_problem(float("nan"), 1.0) == "latitude and longitude must be finite numbers"
    assert point_problem(95.0, 200.0) == "coordinates (95.0, 200.0) are out of range"  # not "swapped"


def test_content_hash_ignores_key_order_and_encoding_of_whole_numbers():
    a = content_hash("f", "1", None, None, {"a": 1, "b": {"y": 2.0, "x": [1, 2.5]}})
    b = content_hash("f", "1", None, None, {"b": {"x": [1.0, 2.5], "y": 2}, "a": 1.0})
    assert a == b and len(a) == 64
    assert a != content_hash("f", "1", None, None, {"a": 1, "b": {"y": 2.0, "x": [1, 2.6]}})
    assert a != content_hash("f", "2", None, None, {"a": 1, "b": {"y": 2.0, "x": [1, 2.5]}})
    assert a != content_hash("f", "1", "r-1", 2, {"a": 1, "b": {"y": 2.0, "x": [1, 2.5]}})


def test_content_hash_same_for_json_and_msgpack_bodies():
    import msgspec

    answers = {"width_m": 1.8, "name": "ป้าศรี", "trees": [{"girth_cm": 95}]}
    via_json = msgspec.json.decode(msgspec.json.encode(answers))
    via_msgpack = msgspec.msgpack.decode(msgspec.msgpack.encode(answers))
    assert content_hash("f", "1", None, None, via_json) == content_hash("f", "1", None, None, via_msgpack)
