"""One answer as a table cell of its column's type; a value that does not fit is kept as text.

Converters raise TypeError or ValueError for a value that does not fit; the caller keeps it as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


def picked(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    if isinstance(value, str):
        return value.split()
    return []


def text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return msgspec.json.encode(value).decode()


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError


def decimal(value: Any) -> float | int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return float(value.strip())
    raise TypeError


def date(value: Any) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    raise TypeError


def datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed
    raise TypeError


def time(value: Any) -> dt.time:
    if isinstance(value, str):
        return dt.time.fromisoformat(value)
    raise TypeError


CONVERT = {
    "integer": integer,
    "decimal": decimal,
    "range": decimal,
    "date": date,
    "datetime": datetime,
    "time": time,
}


def geopoint_part(value: Any, part: str) -> float | None:
    if isinstance(value, dict):
        number = value.get(part)
        return number if isinstance(number, int | float) and not isinstance(number, bool) else None
    if isinstance(value, str):  # "lat lon [alt [accuracy]]" as ODK writes it
        numbers = value.split()
        at = ("lat", "lon", "alt", "accuracy").index(part)
        try:
            return float(numbers[at]) if at < len(numbers) else None
        except ValueError:
            return None
    return None


def odk_points(value: Any) -> str:
    """A line or shape as ODK writes it: `lat lon alt accuracy;...`."""
    if not isinstance(value, list):
        return text(value)
    points = []
    for point in value:
        if not isinstance(point, dict):
            return text(value)
        numbers = [point.get(k) for k in ("lat", "lon", "alt", "accuracy")]
        points.append(" ".join("0" if n is None else f"{n:g}" for n in numbers))
    return ";".join(points)
