"""Scores weighted into group sub-indices and the composite index, ranked, and the ranks' spread.

arithmetic: I = Σ wᵢ·sᵢ / Σ wᵢ over the indicators the area has (weights renormalised over them).
geometric:  I = (G − 1) / 0.99 with G = Π (1 + 0.99·sᵢ)^(wᵢ/Σw): the weighted geometric mean of the
    scores rescaled to 1–100, so one zero does not wipe out the rest (OECD/JRC Handbook on
    Constructing Composite Indicators, 2008, § 6), mapped back to 0–100 to read like the arithmetic
    index; I lies between the area's lowest and highest score either way.
Ranks are competition ranks ("1224"), 1 the best, among the areas with an index, on the index
rounded to 1e-9 so the same scores in another order tie.
Sensitivity: `draws` weight vectors, each weight times its own factor drawn uniformly from
[0.5, 1.5] (a seeded numpy Generator); an area's interval is the 5th and 95th percentile of its rank
over the draws (observed ranks, "inverted_cdf"). The areas ranked in every scenario are those with
an index under the set weights, so all ranks count among the same areas.
"""

from typing import Literal

import numpy as np

Aggregation = Literal["arithmetic", "geometric"]
FACTOR_LOW, FACTOR_HIGH = 0.5, 1.5
DECIMALS = 9


def combine(scores: np.ndarray, weights: np.ndarray, aggregation: Aggregation) -> np.ndarray:
    """The aggregate of each row (area) of `scores` (NaN = missing) for each weight vector.

    `weights` is (k,) or (draws, k); the result is (areas,) or (areas, draws). NaN where an area
    has none of the indicators.
    """
    present = ~np.isnan(scores)
    if aggregation == "arithmetic":
        filled = np.where(present, scores, 0.0)
    else:
        filled = np.where(present, np.log1p(0.99 * np.where(present, scores, 0.0)), 0.0)
    w = weights.T
    numerator = filled @ w
    denominator = present.astype(np.float64) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = numerator / denominator
    if aggregation == "geometric":
        mean = np.expm1(mean) / 0.99
    result = np.where(denominator > 0, mean, np.nan)
    # Rounding can step a hair outside the scores' own range; the index never does.
    low = np.where(present, scores, np.inf).min(axis=1)
    high = np.where(present, scores, -np.inf).max(axis=1)
    if result.ndim == 2:
        low, high = low[:, None], high[:, None]
    return np.where(np.isnan(result), np.nan, np.clip(result, low, high))


def weight_share(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The share of the total weight each area's present indicators carry."""
    return (~np.isnan(scores)).astype(np.float64) @ weights / weights.sum()


def ranks(index: np.ndarray) -> np.ndarray:
    """Competition ranks down axis 0 (1 = highest), 0 where the index is NaN."""
    keyed = np.where(np.isnan(index), -np.inf, np.round(index, DECIMALS))
    order = np.argsort(-keyed, axis=0, kind="stable")
    ordered = np.take_along_axis(keyed, order, axis=0)
    position = np.arange(keyed.shape[0]).reshape((-1,) + (1,) * (keyed.ndim - 1))
    new = np.ones(ordered.shape, dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    first = np.maximum.accumulate(np.where(new, position, 0), axis=0)
    result = np.empty(keyed.shape, dtype=np.int64)
    np.put_along_axis(result, order, first + 1, axis=0)
    return np.where(np.isnan(index), 0, result)


def rank_intervals(
    scores: np.ndarray,
    weights: np.ndarray,
    aggregation: Aggregation,
    eligible: np.ndarray,
    *,
    seed: int,
    draws: int,
) -> np.ndarray:
    """(areas, 2) int: the 5% and 95% rank over random weights; 0 for areas not ranked."""
    result = np.zeros((scores.shape[0], 2), dtype=np.int64)
    if draws < 1 or not eligible.any():
        return result
    rng = np.random.default_rng(seed)
    drawn = weights * rng.uniform(FACTOR_LOW, FACTOR_HIGH, size=(draws, weights.size))
    index = combine(scores[eligible], drawn, aggregation)
    ranked = ranks(index)
    result[eligible] = np.percentile(ranked, [5, 95], axis=1, method="inverted_cdf").T.astype(np.int64)
    return result
