"""The clean records of a project reduced, one at a time, to the sums an index needs.

Memory is a few numbers per (indicator, area), whatever the record count, except for a median,
which keeps its numbers (8 bytes each, per area). The shell locates each record (`Locator`) and
passes its answers flattened by field path: `group/field`, a select_multiple as a list of values,
numbers as int/float. Only int and float answers count as numbers (not numeric text, not bools).
"""

import math
from array import array
from collections.abc import Mapping
from typing import Any

from cityindex.settings import IndexSettings, Indicator


class Sums:
    """One indicator's running figures per area."""

    def __init__(self, indicator: Indicator, n_areas: int) -> None:
        self.indicator = indicator
        self.matched = [0] * n_areas
        """Records of the form in the area that meet `where`."""
        self.numbers = [0] * n_areas
        """Of those, the ones with a number in `field` (mean, sum and median only)."""
        self.total = [0.0] * n_areas
        self.kept: list[array] | None = (
            [array("d") for _ in range(n_areas)] if indicator.aggregate == "median" else None
        )
        self.where = [
            (path, frozenset([wanted] if isinstance(wanted, str) else wanted))
            for path, wanted in (indicator.where or {}).items()
        ]
        self.field = indicator.field if indicator.aggregate in ("mean", "sum", "median") else None


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
            if type(number) is float:
                if not math.isfinite(number):
                    continue
            elif type(number) is not int:
                continue
            sums.numbers[area] += 1
            sums.total[area] += number
            if sums.kept is not None:
                sums.kept[area].append(number)


def _matches(where: list[tuple[str, frozenset[str]]], values: Mapping[str, Any]) -> bool:
    """Every path's answer is one of its values; a select_multiple if it holds any of them."""
    for path, wanted in where:
        answer = values.get(path)
        if isinstance(answer, list):
            if not any(text(a) in wanted for a in answer):
                return False
        elif answer is None or text(answer) not in wanted:
            return False
    return True


def text(answer: Any) -> str:
    """An answer as `where` compares it: text as is, 3 and 3.0 as "3", True as "true"."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)
