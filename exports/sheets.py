"""The tables an export is made of, as the writers see them: a name, headers and a kind per column."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import msgspec

Kind = Literal["text", "integer", "decimal", "boolean", "date", "datetime", "time", "url"]

# (index of the sheet in the list, the row's values in header order); the rows of all sheets come
# interleaved (a record's main row, then its repeat rows), each sheet's rows in order.
Rows = Iterable[tuple[int, Sequence[Any]]]


class Sheet(msgspec.Struct, frozen=True, kw_only=True):
    """One table: each writer makes `name` fit its format (Excel's 31 characters, a file name)."""

    name: str
    headers: list[str]
    kinds: list[Kind]

    def __post_init__(self) -> None:
        if len(self.kinds) != len(self.headers):
            raise ValueError(f"sheet {self.name!r}: {len(self.headers)} headers but {len(self.kinds)} kinds")


def unique(names: Iterable[str], fit: Callable[[str, str], str]) -> list[str]:
    """Makes each name fit a format and differ from the others, ignoring case (Excel and most file
    systems do): `fit(name, suffix)` cleans the name and cuts it so the suffix (`~2`, `~3`…) fits."""
    taken: set[str] = set()
    made = []
    for name in names:
        candidate, n = fit(name, ""), 1
        while candidate.casefold() in taken:
            n += 1
            candidate = fit(name, f"~{n}")
        taken.add(candidate.casefold())
        made.append(candidate)
    return made
