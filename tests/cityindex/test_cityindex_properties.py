"""Properties of scores, indices and ranks over generated inputs (pure, hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cityindex import aggregate
from cityindex.normalise import scores
from cityindex.settings import Indicator

finite = st.floats(-1e6, 1e6, allow_nan=False)
maybe = st.one_of(st.just(np.nan), finite)
values_ = st.lists(maybe, min_size=1, max_size=30).map(lambda v: np.array(v, dtype=np.float64))


@st.composite
def indicators(draw):
    normalization = draw(st.sampled_from(["minmax", "target"]))
    options = {"direction": draw(st.sampled_from(["higher_better", "lower_better"]))}
    if normalization == "target":
        options |= {"normalization": "target", "target": draw(st.floats(1e-3, 1e6))}
    elif draw(st.booleans()):
        lo = draw(st.floats(-1e6, 1e6))
        options |= {"bounds": (lo, lo + draw(st.floats(1e-3, 1e6)))}
    return Indicator(key="x", label="x", form="f", aggregate="mean", field="v", **options)


@given(indicators(), values_)
def test_scores_lie_in_0_100_and_stay_missing_where_the_value_is(indicator, values):
    result, _ = scores(indicator, values)
    present = ~np.isnan(values)
    assert np.array_equal(~np.isnan(result), present)
    assert np.all((result[present] >= 0) & (result[present] <= 100))


@given(values_, st.booleans())
def test_flipping_the_direction_mirrors_min_max_scores(values, bounded):
    present = values[~np.isnan(values)]
    if present.size == 0 or present.min() == present.max():
        return  # every area equal: every score is 100 either way (tested by hand)
    bounds = (float(present.min()) - 1, float(present.max()) + 1) if bounded else None
    up, _ = scores(Indicator(key="x", label="x", form="f", aggregate="count", bounds=bounds), values)
    down, _ = scores(
        Indicator(key="x", label="x", form="f", aggregate="count", bounds=bounds, direction="lower_better"),
        values,
    )
    np.testing.assert_allclose(up + down, np.where(np.isnan(values), np.nan, 100.0), atol=1e-9)
    if not bounded:
        assert np.nanmin(up) == 0 and np.nanmax(up) == 100


score_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 12), st.integers(1, 6)),
    elements=st.one_of(st.just(np.nan), st.floats(0, 100)),
)


@given(score_rows, st.data(), st.sampled_from(["arithmetic", "geometric"]))
def test_the_index_lies_between_the_areas_lowest_and_highest_score(matrix, data, aggregation):
    weights = np.array(
        data.draw(st.lists(st.floats(1e-3, 1000), min_size=matrix.shape[1], max_size=matrix.shape[1]))
    )
    index = aggregate.combine(matrix, weights, aggregation)
    for row, value in zip(matrix, index, strict=True):
        present = row[~np.isnan(row)]
        if present.size == 0:
            assert np.isnan(value)
        else:
            assert present.min() <= value <= present.max()


@given(st.lists(st.one_of(st.just(np.nan), st.integers(0, 5).map(float)), min_size=1, max_size=20))
def test_ranks_are_competition_ranks_among_areas_with_an_index(index):
    ranked = aggregate.ranks(np.array(index))
    for value, rank in zip(index, ranked, strict=True):
        if np.isnan(value):
            assert rank == 0
        else:
            assert rank == 1 + sum(1 for other in index if other > value)


@settings(max_examples=25, deadline=None)
@given(score_rows, st.integers(0, 2**32 - 1), st.sampled_from(["arithmetic", "geometric"]))
def test_the_same_seed_gives_the_same_rank_intervals_and_they_hold_the_ranks(matrix, seed, aggregation):
    weights = np.ones(matrix.shape[1])
    eligible = ~np.all(np.isnan(matrix), axis=1)
    first = aggregate.rank_intervals(matrix, weights, aggregation, eligible, seed=seed, draws=50)
    again = aggregate.rank_intervals(matrix, weights, aggregation, eligible, seed=seed, draws=50)
    assert np.array_equal(first, again)
    assert np.all(first[~eligible] == 0)
    low, high = first[eligible, 0], first[eligible, 1]
    assert np.all((low >= 1) & (low <= high) & (high <= eligible.sum()))


def test_ranks_tie_on_a_hair_of_rounding_and_go_1224():
    assert aggregate.ranks(np.array([50.0, 50.00000000000001, 70.0, 10.0, np.nan])).tolist() == [
        2,
        2,
        1,
        4,
        0,
    ]
