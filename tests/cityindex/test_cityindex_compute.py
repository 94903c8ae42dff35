"""The index of three Korat districts computed by hand (pure): A and B have records, C none."""

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityindex.areas import read_layer
from cityindex.compute import Tally, compute
from cityindex.indicators import decode_settings
from tests.cityindex.geo import LAT0, LON0, SIDE, cell_km2, collection, district

AREAS = read_layer(
    collection(
        district(0, "A", name={"th": "ในเมือง", "en": "Nai Mueang"}),
        district(1, "B", name="Pho Klang"),
        district(2, "C", name="Hua Thale"),
    )
).areas
KM2_A = cell_km2(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
KM2_B = cell_km2(LON0 + SIDE, LAT0, LON0 + 2 * SIDE, LAT0 + SIDE)
RECORDS = [  # (area, answers) of the sidewalk audit `walk`; area -1 is outside every district
    (0, {"state": "blocked", "width": 1.0, "issues": ["tree"]}),
    (0, {"state": "ok", "width": 2.0, "issues": ["ramp", "tree"]}),
    (0, {"state": "broken", "width": 3, "issues": []}),
    (0, {"state": "ok", "width": "n/a", "issues": ["ramp"]}),
    (1, {"state": "ok", "width": 1.5, "issues": ["tree"]}),
    (1, {"state": "ok", "width": 4.5, "issues": ["light"]}),
    (1, {"state": "blocked", "width": 2, "issues": []}),
    (-1, {"state": "ok", "width": 9.0, "issues": ["tree"]}),
]
OBSTRUCTED = {"key": "obstructed", "label": {"th": "ทางเท้ากีดขวาง", "en": "Obstructed"}, "form": "walk"}
OBSTRUCTED |= {"aggregate": "share", "where": {"state": ["blocked", "broken"]}, "direction": "lower_better"}
TREES = {"key": "trees", "label": "Trees per km²", "form": "walk", "aggregate": "density_km2"}
TREES |= {"where": {"issues": "tree"}}
RAMPS = {"key": "ramps", "label": "Ramps", "form": "walk", "aggregate": "count", "where": {"issues": "ramp"}}


def run(settings_raw, records=RECORDS, **options):
    settings = decode_settings(settings_raw)
    tally = Tally(settings, len(AREAS))
    for area, answers in records:
        tally.add("walk", area, answers)
    tally.add("other_form", 0, {"state": "blocked"})  # a form no indicator reads counts nowhere
    return compute(settings, AREAS, tally, **options)


def test_each_aggregate_per_district_by_hand():
    width = {"label": "Width", "form": "walk", "field": "width"}
    result = run(
        [
            OBSTRUCTED,
            TREES,
            RAMPS | {"min_records": 4},  # B has 3 records of the form: too few, so null
            {"key": "width_mean", "aggregate": "mean", **width},
            {"key": "width_sum", "aggregate": "sum", **width},
            {"key": "width_median", "aggregate": "median", **width},
        ]
    )
    a, b, c = result.rows
    assert [(r.code, r.name, r.records) for r in result.rows] == [
        ("A", "ในเมือง", 4),
        ("B", "Pho Klang", 3),
        ("C", "Hua Thale", 0),
    ]
    assert a.values == pytest.approx(
        {
            "obstructed": 2 / 4,
            "trees": 2 / KM2_A,
            "ramps": 2,
            "width_mean": (1.0 + 2.0 + 3) / 3,  # "n/a" is not a number: skipped
            "width_sum": 6.0,
            "width_median": 2.0,
        },
        rel=1e-9,
    )
    assert b.values["ramps"] is None
    assert b.values | {"ramps": 0} == pytest.approx(
        {
            "obstructed": 1 / 3,
            "trees": 1 / KM2_B,
            "ramps": 0,
            "width_mean": (1.5 + 4.5 + 2) / 3,
            "width_sum": 8.0,
            "width_median": 2.0,
        },
        rel=1e-9,
    )
    assert c.values == dict.fromkeys(a.values)  # no records: null, never 0
    assert c.scores == dict.fromkeys(a.values)
    assert isinstance(a.values["ramps"], int)
    assert "1 record(s) of the indicators' forms lie in no area" in result.notes
    assert "width_median: every area with a value has 2; every score is 100" in result.notes
    assert a.scores["width_median"] == b.scores["width_median"] == 100


SCORED = {
    "indicators": [
        OBSTRUCTED | {"weight": 2, "group": "society/safe"},
        TREES | {"normalization": "target", "target": 1.5, "group": "environment/sustainable"},
        RAMPS | {"min_records": 4, "group": "society/safe"},
    ]
}
# By hand: obstructed min-max over {A 1/2, B 1/3}, lower is better → A 0, B 100.
# trees: A 2/KM2_A ≈ 1.68 ≥ 1.5 → 100; B 1/KM2_B ≈ 0.84 → 100 · 0.84 / 1.5.
# ramps: A alone (B below min_records) → every area equal → 100.
TREES_B = 100 * (1 / KM2_B) / 1.5


def test_minmax_target_and_the_arithmetic_index_with_groups_coverage_and_rank():
    result = run(SCORED)
    a, b, c = result.rows
    assert a.scores == pytest.approx({"obstructed": 0.0, "trees": 100.0, "ramps": 100.0})
    assert b.scores == pytest.approx({"obstructed": 100.0, "trees": TREES_B, "ramps": None})
    assert pytest.approx(56.01, abs=0.01) == TREES_B
    assert a.index == pytest.approx((2 * 0 + 100 + 100) / 4)
    assert b.index == pytest.approx((2 * 100 + TREES_B) / 3)  # weights renormalised over what B has
    assert c.index is None and c.rank is None and c.rank_interval is None
    assert (a.rank, b.rank) == (2, 1)
    assert a.groups == pytest.approx({"society/safe": (2 * 0 + 100) / 3, "environment/sustainable": 100.0})
    assert b.groups == pytest.approx({"society/safe": 100.0, "environment/sustainable": TREES_B})
    assert c.groups == {"society/safe": None, "environment/sustainable": None}
    assert result.groups == ["society/safe", "environment/sustainable"]
    assert (a.coverage.indicators, a.coverage.of, a.coverage.weight_share) == (3, 3, 1.0)
    assert (b.coverage.indicators, b.coverage.of, b.coverage.weight_share) == (2, 3, 0.75)
    assert (c.coverage.indicators, c.coverage.weight_share) == (0, 0.0)
    assert result.ranked == 2
    # Equal weights: A (0 + 100 + 100) / 3 = 66.7, B (100 + 56.0) / 2 = 78.0: B still first.
    assert (a.rank_equal_weights, b.rank_equal_weights) == (2, 1)
    assert "ramps: every area with a value has 2; every score is 100" in result.notes


def test_the_geometric_index_rescales_scores_to_1_100_so_a_zero_does_not_wipe_out_the_rest():
    result = run(SCORED | {"aggregation": "geometric"})
    a, b, _ = result.rows
    # A: (1 + 0.99·0)^(2/4) · (1 + 0.99·100)^(1/4) · (1 + 0.99·100)^(1/4) = 100^(1/2) = 10
    assert a.index == pytest.approx((10 - 1) / 0.99)
    geometric_b = (100**2 * (1 + 0.99 * TREES_B)) ** (1 / 3)
    assert b.index == pytest.approx((geometric_b - 1) / 0.99)
    assert a.index > 0  # A's zero on `obstructed` does not make its whole index 0
    assert a.groups["society/safe"] == pytest.approx((100 ** (1 / 3) - 1) / 0.99)
    # The other aggregation is the arithmetic one: same order here.
    assert (a.rank, b.rank, a.rank_other_aggregation, b.rank_other_aggregation) == (2, 1, 2, 1)


def test_below_min_coverage_an_area_gets_no_index_and_no_rank():
    result = run(SCORED | {"min_coverage": 0.8})  # B carries 3 of the 4 weights
    a, b, _ = result.rows
    assert a.index == pytest.approx(50.0)
    assert (b.index, b.rank, b.rank_interval, b.rank_equal_weights) == (None, None, None, None)
    assert b.scores["obstructed"] == 100.0  # its scores stay
    assert (a.rank, result.ranked) == (1, 1)
    assert "1 area(s) have some indicators but less than 80% of the weight: no index" in result.notes


def test_a_tie_shares_the_rank():
    # trees count: A 2, B 1 → A 100, B 0; mean width: A 2, B 8/3 → A 0, B 100; equal weights → 50 each.
    result = run(
        [
            {
                "key": "trees",
                "label": "Trees",
                "form": "walk",
                "aggregate": "count",
                "where": {"issues": "tree"},
            },
            {"key": "width", "label": "Width", "form": "walk", "aggregate": "mean", "field": "width"},
        ]
    )
    a, b, _ = result.rows
    assert (a.index, b.index) == pytest.approx((50.0, 50.0))
    assert (a.rank, b.rank) == (1, 1)
    assert a.rank_interval is not None and a.rank_interval[0] == 1 and a.rank_interval[1] == 2


def test_rank_intervals_are_seeded_and_the_draws_move_ranks():
    records = [(area, {"x": x, "y": y}) for area, x, y in [(0, 1.0, 9.0), (1, 2.0, 5.0), (2, 3.0, 1.0)]]
    raw = [
        {"key": k, "label": k, "form": "walk", "aggregate": "mean", "field": k, "weight": w}
        for k, w in (("x", 1.0), ("y", 1.0))
    ]
    first = run(raw, records, seed=3, draws=400)
    again = run(raw, records, seed=3, draws=400)
    # x: 0, 50, 100; y: 100, 50, 0 → every index 50 with equal weights; any tilt puts A or C
    # first and the other last, while B stays at 50, second.
    assert [r.index for r in first.rows] == pytest.approx([50.0, 50.0, 50.0])
    assert [r.rank_interval for r in first.rows] == [r.rank_interval for r in again.rows]
    assert [r.rank_interval for r in first.rows] == [(1, 3), (2, 2), (1, 3)]
    assert math.isclose(first.rows[1].scores["x"], 50.0)


ALL_AGGREGATES = [
    OBSTRUCTED,
    TREES,
    RAMPS | {"min_records": 4},
    {"key": "width_mean", "label": "W", "form": "walk", "aggregate": "mean", "field": "width"},
    {"key": "width_sum", "label": "W", "form": "walk", "aggregate": "sum", "field": "width"},
    {"key": "width_median", "label": "W", "form": "walk", "aggregate": "median", "field": "width"},
]


def by_batches(records, settings_raw, size, **options):
    """The same records fed through `add_many`, `size` at a time, as columns."""
    settings = decode_settings(settings_raw)
    tally = Tally(settings, len(AREAS))
    for start in range(0, len(records), size):
        chunk = records[start : start + size]
        columns = {path: [answers.get(path) for _, answers in chunk] for path in ("state", "width", "issues")}
        tally.add_many("walk", np.array([area for area, _ in chunk]), columns)
    return compute(settings, AREAS, tally, **options)


def test_batches_give_the_figures_of_records_one_by_one():
    one_by_one = run(ALL_AGGREGATES)
    for size in (1, 3, len(RECORDS)):
        batched = by_batches(RECORDS, ALL_AGGREGATES, size)
        assert batched.rows == one_by_one.rows
        assert batched.notes == one_by_one.notes


answers = st.fixed_dictionaries(
    {
        "state": st.sampled_from(["ok", "blocked", "broken", None, 3, True]),
        # quarters add up exactly in any order, so both ways must agree to the last bit
        "width": st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.integers(-40, 40).map(lambda q: q / 4),
            st.sampled_from([math.nan, math.inf, -math.inf]),
            st.text(max_size=2),
            st.booleans(),
        ),
        "issues": st.one_of(st.none(), st.lists(st.sampled_from(["tree", "ramp", "light"]), max_size=3)),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 2), answers), max_size=40), st.integers(1, 7))
def test_batches_and_single_records_agree_on_any_answers(records, size):
    one_by_one = run(ALL_AGGREGATES, records, draws=20)
    batched = by_batches(records, ALL_AGGREGATES, size, draws=20)
    assert msgspec.json.encode(batched.rows) == msgspec.json.encode(one_by_one.rows)


def test_a_where_on_a_number_matches_it_and_a_foreign_tally_is_refused():
    records = [
        (0, {"floors": 2}),
        (0, {"floors": 2.0}),
        (0, {"floors": "2"}),
        (0, {"floors": 3}),
        (1, {"floors": None}),
    ]
    raw = [
        {"key": "two", "label": "Two floors", "form": "walk", "aggregate": "count", "where": {"floors": 2}}
    ]
    a, b, _ = run(raw, records).rows
    assert (a.values["two"], b.values["two"]) == (3, 0)
    with pytest.raises(ValueError, match="other settings"):
        compute(decode_settings(raw), AREAS, Tally(decode_settings(ALL_AGGREGATES), len(AREAS)))
    with pytest.raises(ValueError, match="another layer"):
        compute(decode_settings(raw), AREAS[:2], Tally(decode_settings(raw), len(AREAS)))
