"""Cells of the export as the city tables' columns take them, typed for COPY."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import shapely

from exports.city import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    LINESTRING,
    POLYGON,
    TEXT,
    TEXT_ARRAY,
    TIMESTAMPTZ,
    TIMETZ,
    UUID,
    CityTable,
)


class Misfit(Exception):
    """A value that does not fit its column's type: the column is widened to text and the row sent again."""

    def __init__(self, column: int = -1) -> None:
        super().__init__(column)
        self.column = column


def row(table: CityTable, cells: Sequence[Any], kinds: Sequence[str]) -> tuple[Any, ...]:
    """A row of the export's table as the city table's row, each value of its column's type (`kinds`,
    the table's columns as they are in the database); Misfit(column index) where one does not fit."""
    return converter(table, kinds)(cells)


def converter(table: CityTable, kinds: Sequence[str]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """`row` for one table and its column types, with each column's conversion found once."""
    fits = [_FAST.get(kind, _general(kind)) for kind in kinds]
    repeat = bool(table.path)

    def convert(cells: Sequence[Any]) -> tuple[Any, ...]:
        if repeat:  # a repeat's entry: its key first (the record's id and the entry's path)
            cells = [f"{cells[0]}/{cells[3]}", *cells]
        try:
            return tuple([fit(cell) for fit, cell in zip(fits, cells, strict=True)])
        except Misfit:
            for i, (fit, cell) in enumerate(zip(fits, cells, strict=True)):
                try:
                    fit(cell)
                except Misfit:
                    raise Misfit(i) from None
            raise

    return convert


def _general(kind: str) -> Callable[[Any], Any]:
    return lambda cell: value(cell, kind)


def _text_fast(cell: Any) -> Any:
    return cell if cell is None or type(cell) is str else text_of(cell)


def _double_fast(cell: Any) -> Any:
    kind = type(cell)
    if cell is None or kind is float:
        return cell
    if kind is int:
        return float(cell)
    raise Misfit


def _bigint_fast(cell: Any) -> Any:
    if cell is None or (type(cell) is int and -(2**63) <= cell < 2**63):
        return cell
    return _bigint(cell)


def value(cell: Any, kind: str) -> Any:
    """A cell of the export as the column's type takes it (for COPY); Misfit where it does not fit."""
    if cell is None:
        return None
    if kind == TEXT:
        return text_of(cell)
    fits = _FITS.get(kind)
    if fits is None:
        raise Misfit
    return fits(cell)


def text_of(cell: Any) -> str:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int | float):
        return str(cell)
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    if isinstance(cell, list) and all(isinstance(v, str) for v in cell):
        return " ".join(cell)
    return msgspec.json.encode(cell).decode()


def _bigint(cell: Any) -> int:
    if type(cell) is int and -(2**63) <= cell < 2**63:
        return cell
    if type(cell) is float and cell.is_integer() and abs(cell) < 2**63:
        return int(cell)
    raise Misfit


def _double(cell: Any) -> float:
    if type(cell) in (int, float):
        return float(cell)
    raise Misfit


def _boolean(cell: Any) -> bool:
    if cell in (0, 1) and type(cell) in (int, bool):
        return bool(cell)
    raise Misfit


def _date(cell: Any) -> dt.date:
    if type(cell) is dt.date:
        return cell
    raise Misfit


def _timestamptz(cell: Any) -> dt.datetime:
    if type(cell) is dt.datetime and cell.tzinfo is not None:
        return cell
    raise Misfit


def _timetz(cell: Any) -> dt.time:
    if type(cell) is dt.time and cell.tzinfo is not None:
        return cell
    raise Misfit


def _text_array(cell: Any) -> list[str]:
    if type(cell) is list and all(type(v) is str for v in cell):
        return cell
    raise Misfit


def _uuid(cell: Any) -> uuid.UUID:
    try:
        return cell if isinstance(cell, uuid.UUID) else uuid.UUID(str(cell))
    except ValueError:
        raise Misfit from None


def _points(cell: Any) -> list[tuple[float, float]]:
    """`lat lon alt accuracy;...` (as the export writes a line or shape) as (lon, lat) pairs."""
    if type(cell) is not str:
        raise Misfit
    points = []
    for point in cell.split(";"):
        numbers = point.split()
        try:
            points.append((float(numbers[1]), float(numbers[0])))
        except (IndexError, ValueError):
            raise Misfit from None
    return points


def _ewkb(geometry: Any) -> bytes:
    if not geometry.is_valid:
        raise Misfit
    return bytes(shapely.to_wkb(shapely.set_srid(geometry, 4326), include_srid=True))


def _linestring(cell: Any) -> bytes:
    points = _points(cell)
    if len(points) < 2:
        raise Misfit
    return _ewkb(shapely.LineString(points))


def _polygon(cell: Any) -> bytes:
    points = _points(cell)
    if points and points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4:
        raise Misfit
    return _ewkb(shapely.Polygon(points))


_FITS = {
    BIGINT: _bigint,
    DOUBLE: _double,
    BOOLEAN: _boolean,
    DATE: _date,
    TIMESTAMPTZ: _timestamptz,
    TIMETZ: _timetz,
    TEXT_ARRAY: _text_array,
    UUID: _uuid,
    LINESTRING: _linestring,
    POLYGON: _polygon,
}


def _none_or(fit: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda cell: None if cell is None else fit(cell)


_FAST: dict[str, Callable[[Any], Any]] = {kind: _none_or(fit) for kind, fit in _FITS.items()}
_FAST |= {TEXT: _text_fast, DOUBLE: _double_fast, BIGINT: _bigint_fast}
