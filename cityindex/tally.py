"""The clean records of a project reduced to the sums an index needs, record by record or in batches.

Memory is a few numbers per (indicator, area), whatever the record count, except for a median,
which keeps its numbers (8 bytes each, 16 when fed in batches). Answers are flattened by field path:
`group/field`, a select_multiple as a list of values, numbers as int/float. Only int and float
answers count as numbers (not numeric text, not bools); NaN and infinities are skipped.

`add` takes one record; `add_many` a batch as columns (several times faster: the counting is numpy's
`bincount`, only matching `where` and picking numbers stay per answer in Python). Both may be mixed.
"""

import math
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cityindex.settings import IndexSettings, Indicator, text


class Sums:
    """One indicator's running figures per area."""

    def __init__(self, indicator: Indicator, n_areas: int) -> None:
        self.indicator = indicator
        self.matched = [0] * n_areas
        """Records of the form in the area that meet `where`."""
        self.numbers = [0] * n_areas
        """Of those, the ones with a number in `field` (mean, sum and median only)."""
        self.total = [0.0] * n_areas
        self.median = indicator.aggregate == "median"
        self.kept = [array("d") for _ in range(n_areas)] if self.median else []
        """A median's numbers per area, from `add`."""
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []
        """A median's (area, number) pairs from `add_many`."""
        self.where = tuple(
            (path, frozenset([wanted] if isinstance(wanted, str) else wanted))
            for path, wanted in (indicator.where or {}).items()
        )
        self.field = indicator.field if indicator.aggregate in ("mean", "sum", "median") else None

    def medians(self) -> np.ndarray:
        """The median per area, NaN where there is no number."""
        result = np.full(len(self.matched), np.nan)
        if not self.median:
            return result
        extra: dict[int, np.ndarray] = {}
        if self.batches:
            areas = np.concatenate([a for a, _ in self.batches])
            numbers = np.concatenate([n for _, n in self.batches])
            order = np.argsort(areas, kind="stable")
            areas, numbers = areas[order], numbers[order]
            starts = np.flatnonzero(np.r_[True, areas[1:] != areas[:-1]]) if areas.size else np.array([], int)
            for start, end in zip(starts, [*starts[1:], areas.size], strict=True):
                extra[int(areas[start])] = numbers[start:end]
        for a, kept in enumerate(self.kept):
            parts = [np.frombuffer(kept)] if len(kept) else []
            parts += [extra[a]] if a in extra else []
            if parts:
                result[a] = float(np.median(np.concatenate(parts)))
        return result


class Tally:
    """Feed it every clean record of the indicators' forms with the index of its area."""

    def __init__(self, settings: IndexSettings, n_areas: int) -> None:
        self.n_areas = n_areas
        self.sums = [Sums(indicator, n_areas) for indicator in settings.indicators]
        self.by_form: dict[str, list[Sums]] = {}
        for sums in self.sums:
            self.by_form.setdefault(sums.indicator.form, []).append(sums)
        self.form_records = {form: [0] * n_areas for form in self.by_form}
        """Records of each form per area: the denominator of a share."""
        self.records = [0] * n_areas
        """Records of any indicator's form per area."""
        self.outside = 0
        """Records of those forms in no area (area < 0): the shell passes them too, for the notes."""

    def add(self, form: str, area: int, values: Mapping[str, Any]) -> None:
        """One clean record of `form` located in `area` (an index into the layer; -1 for none)."""
        sums_of_form = self.by_form.get(form)
        if sums_of_form is None:
            return
        if area < 0:
            self.outside += 1
            return
        self.records[area] += 1
        self.form_records[form][area] += 1
        for sums in sums_of_form:
            if sums.where and not _matches(sums.where, values):
                continue
            sums.matched[area] += 1
            if sums.field is None:
                continue
            number = values.get(sums.field)
            kind = type(number)
            if (kind is not float or not math.isfinite(number)) and kind is not int:
                continue
            sums.numbers[area] += 1
            sums.total[area] += number
            if sums.median:
                sums.kept[area].append(number)

    def add_many(self, form: str, areas: np.ndarray, columns: Mapping[str, Sequence[Any]]) -> None:
        """A batch of clean records of `form`: each one's area (-1 for none) and its answers by path,
        one sequence per path the indicators read (None, or a missing path, where unanswered)."""
        sums_of_form = self.by_form.get(form)
        if sums_of_form is None:
            return
        areas = np.asarray(areas, dtype=np.int64)
        inside = areas >= 0
        self.outside += int(areas.size - inside.sum())
        n = self.n_areas
        located = areas[inside]
        counted = np.bincount(located, minlength=n).tolist()
        self.records = [a + b for a, b in zip(self.records, counted, strict=True)]
        self.form_records[form] = [a + b for a, b in zip(self.form_records[form], counted, strict=True)]
        texts: dict[str, list[Any]] = {}
        for sums in sums_of_form:
            mask = inside.copy()
            for path, wanted in sums.where:
                if path not in texts:
                    texts[path] = _texts(columns.get(path), areas.size)
                mask &= _any_in(texts[path], wanted)
            matched = np.bincount(areas[mask], minlength=n).tolist()
            sums.matched = [a + b for a, b in zip(sums.matched, matched, strict=True)]
            if sums.field is None:
                continue
            numbers = _numbers(columns.get(sums.field), areas.size)
            mask &= ~np.isnan(numbers)
            where, picked = areas[mask], numbers[mask]
            counts = np.bincount(where, minlength=n).tolist()
            totals = np.bincount(where, weights=picked, minlength=n).tolist()
            sums.numbers = [a + b for a, b in zip(sums.numbers, counts, strict=True)]
            sums.total = [a + b for a, b in zip(sums.total, totals, strict=True)]
            if sums.median and where.size:
                sums.batches.append((where, picked))


def _matches(where: tuple[tuple[str, frozenset[str]], ...], values: Mapping[str, Any]) -> bool:
    """Every path's answer is one of its values; a select_multiple if it holds any of them."""
    for path, wanted in where:
        answer = values.get(path)
        if isinstance(answer, list):
            if not any(text(a) in wanted for a in answer):
                return False
        elif answer is None or text(answer) not in wanted:
            return False
    return True


def _texts(column: Sequence[Any] | None, n: int) -> list[Any]:
    """A column's answers as `where` compares them: text, a list of texts, or None."""
    if column is None:
        return [None] * n
    if len(column) != n:
        raise ValueError(f"a column has {len(column)} answers for {n} records")
    return [None if a is None else [text(x) for x in a] if isinstance(a, list) else text(a) for a in column]


def _any_in(texts: list[Any], wanted: frozenset[str]) -> np.ndarray:
    return np.fromiter(
        (t in wanted if type(t) is str else t is not None and not wanted.isdisjoint(t) for t in texts),
        dtype=bool,
        count=len(texts),
    )


def _numbers(column: Sequence[Any] | None, n: int) -> np.ndarray:
    """A column's numbers as floats, NaN where the answer is not a finite int or float."""
    if column is None:
        return np.full(n, np.nan)
    if len(column) != n:
        raise ValueError(f"a column has {len(column)} answers for {n} records")
    numbers = np.fromiter(
        (a if type(a) is float or type(a) is int else math.nan for a in column), dtype=np.float64, count=n
    )
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers
