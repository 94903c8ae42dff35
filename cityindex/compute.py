"""The index of a layer from a `Tally`: values, scores, sub-indices, index, ranks, sensitivity.

Values per area (null when the records it rests on are fewer than `min_records`; an area without
data is null, never 0):
    count        records meeting `where`                    rests on: the form's records there
    density_km2  count / the area's km²                      rests on: the form's records there
    share        count / the form's records in the area      rests on: the form's records there
    mean/sum/median of `field` over the matching records with a number; rests on: those records
Scores: `cityindex.normalise`. Sub-indices, index and ranks: `cityindex.aggregate`. An area's index
is null when its present indicators carry less than `min_coverage` of the total weight.
"""

from collections.abc import Sequence

import msgspec
import numpy as np

from cityindex import aggregate
from cityindex.areas import Area
from cityindex.normalise import scores as score
from cityindex.settings import IndexSettings
from cityindex.tally import Sums, Tally

__all__ = ["AreaRow", "Coverage", "IndexResult", "Tally", "compute"]


class Coverage(msgspec.Struct, frozen=True, kw_only=True):
    indicators: int
    """Indicators with a value in the area."""
    of: int
    weight_share: float
    """Their share of the total weight (0–1)."""


class AreaRow(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str | None
    records: int
    values: dict[str, float | None]
    scores: dict[str, float | None]
    groups: dict[str, float | None]
    index: float | None
    rank: int | None
    coverage: Coverage
    rank_equal_weights: int | None
    rank_other_aggregation: int | None
    rank_interval: tuple[int, int] | None
    """5th and 95th percentile of the rank over the random weight draws."""


class IndexResult(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[AreaRow]
    notes: list[str]
    groups: list[str]
    """Group names in the order their first indicator comes."""
    ranked: int
    """Areas with an index (the ranks run over them)."""


def compute(
    settings: IndexSettings, areas: Sequence[Area], tally: Tally, *, seed: int = 0, draws: int = 1000
) -> IndexResult:
    """One row per area, in layer order; `seed` and `draws` drive the rank intervals (draws=0: none)."""
    if draws < 0:
        raise ValueError("draws must be 0 or more")
    if tally.n_areas != len(areas) or [s.indicator for s in tally.sums] != settings.indicators:
        raise ValueError("the tally was made for other settings or another layer")
    km2 = np.array([area.area_km2 for area in areas], dtype=np.float64)
    notes: list[str] = []
    values = (
        np.column_stack([_values(sums, tally, km2) for sums in tally.sums]) if areas else np.empty((0, 0))
    )
    columns = []
    for j, indicator in enumerate(settings.indicators):
        column, note = score(indicator, values[:, j]) if areas else (np.empty(0), None)
        columns.append(column)
        notes += [note] if note else []
    scores = np.column_stack(columns) if areas else np.empty((0, len(settings.indicators)))
    weights = np.array([ind.weight for ind in settings.indicators], dtype=np.float64)
    other = "geometric" if settings.aggregation == "arithmetic" else "arithmetic"

    share = aggregate.weight_share(scores, weights)
    index = aggregate.combine(scores, weights, settings.aggregation)
    eligible = ~np.isnan(index) & (share >= settings.min_coverage - 1e-12)
    index = np.where(eligible, index, np.nan)
    rank = aggregate.ranks(index)
    masked = np.where(eligible[:, None], scores, np.nan)
    rank_equal = aggregate.ranks(aggregate.combine(masked, np.ones_like(weights), settings.aggregation))
    rank_other = aggregate.ranks(aggregate.combine(masked, weights, other))
    intervals = aggregate.rank_intervals(
        scores, weights, settings.aggregation, eligible, seed=seed, draws=draws
    )

    groups = list(dict.fromkeys(ind.group for ind in settings.indicators if ind.group is not None))
    group_index = {
        group: aggregate.combine(scores[:, members], weights[members], settings.aggregation)
        for group in groups
        for members in [[j for j, ind in enumerate(settings.indicators) if ind.group == group]]
    }
    present = ~np.isnan(scores)
    keys = [ind.key for ind in settings.indicators]
    integral = [ind.aggregate == "count" for ind in settings.indicators]
    rows = []
    for a, area in enumerate(areas):
        rows.append(
            AreaRow(
                code=area.code,
                name=area.name,
                records=tally.records[a],
                values={k: _number(values[a, j], integral[j]) for j, k in enumerate(keys)},
                scores={k: _number(scores[a, j]) for j, k in enumerate(keys)},
                groups={g: _number(group_index[g][a]) for g in groups},
                index=_number(index[a]),
                rank=int(rank[a]) or None,
                coverage=Coverage(
                    indicators=int(present[a].sum()), of=len(keys), weight_share=float(share[a])
                ),
                rank_equal_weights=int(rank_equal[a]) or None,
                rank_other_aggregation=int(rank_other[a]) or None,
                rank_interval=(int(intervals[a, 0]), int(intervals[a, 1])) if eligible[a] and draws else None,
            )
        )
    notes += _coverage_notes(eligible, present, settings, tally)
    return IndexResult(rows=rows, notes=notes, groups=groups, ranked=int(eligible.sum()))


def _values(sums: Sums, tally: Tally, km2: np.ndarray) -> np.ndarray:
    """One indicator's value per area, NaN where missing."""
    ind = sums.indicator
    matched = np.array(sums.matched, dtype=np.float64)
    if ind.aggregate in ("mean", "sum", "median"):
        basis = np.array(sums.numbers, dtype=np.float64)
    else:
        basis = np.array(tally.form_records[ind.form], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if ind.aggregate == "count":
            value = matched
        elif ind.aggregate == "density_km2":
            value = np.where(km2 > 0, matched / km2, np.nan)
        elif ind.aggregate == "share":
            value = matched / basis
        elif ind.aggregate == "sum":
            value = np.array(sums.total)
        elif ind.aggregate == "mean":
            value = np.array(sums.total) / basis
        else:
            value = sums.medians()
    return np.where(basis >= ind.min_records, value, np.nan)


def _number(x: float, integral: bool = False) -> float | int | None:
    if np.isnan(x):
        return None
    return int(x) if integral else float(x)


def _coverage_notes(
    eligible: np.ndarray, present: np.ndarray, settings: IndexSettings, tally: Tally
) -> list[str]:
    notes = []
    short = int((present.any(axis=1) & ~eligible).sum())
    if short:
        notes.append(
            f"{short} area(s) have some indicators but less than {settings.min_coverage:.0%} of the weight: no index"
        )
    if tally.outside:
        notes.append(f"{tally.outside} record(s) of the indicators' forms lie in no area")
    return notes
