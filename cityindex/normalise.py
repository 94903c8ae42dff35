"""An indicator's values across areas turned into 0–100 scores (100 = best).

min-max (OECD/JRC Handbook on Constructing Composite Indicators, 2008, § 5):
    s = 100 · (clamp(v, lo, hi) − lo) / (hi − lo), lo/hi = the min and max over the areas with a
    value, or the fixed `bounds`; `lower_better` gives 100 − s. When every area has the same value
    (and no bounds), every score is 100: no area is worse than another on it.
target (the handbook's "distance to a reference", as a share of the reference, capped at it):
    higher_better  s = 100 · clamp(v / t, 0, 1)
    lower_better   s = 100 if v ≤ t else 100 · t / v        (so v = 0 scores 100)
A missing value (NaN) stays missing: it is never scored 0.
"""

import numpy as np

from cityindex.settings import Indicator


def scores(indicator: Indicator, values: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Scores (NaN where the value is missing) and a note when the scale was degenerate."""
    present = ~np.isnan(values)
    out = np.full(values.shape, np.nan)
    if not present.any():
        return out, f"{indicator.key}: no area has a value"
    v = values[present]
    if indicator.normalization == "target":
        t = float(indicator.target)  # type: ignore[arg-type]  # decode_settings requires it
        if indicator.direction == "higher_better":
            out[present] = 100 * np.clip(v / t, 0, 1)
        else:
            with np.errstate(divide="ignore"):
                out[present] = np.where(v <= t, 100.0, 100 * t / np.where(v <= t, 1.0, v))
        return out, None
    if indicator.bounds is not None:
        lo, hi = indicator.bounds
    else:
        lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        out[present] = 100.0
        return out, f"{indicator.key}: every area with a value has {lo:g}; every score is 100"
    s = np.clip(100 * ((np.clip(v, lo, hi) - lo) / (hi - lo)), 0, 100)  # the worst 0, the best 100
    out[present] = s if indicator.direction == "higher_better" else 100 - s
    return out, None
