"""Turn one raw answer into its typed value, or raise BadValue with a stable code.

Soft findings (poor GPS accuracy, a Buddhist Era year) go into `issues`; the value is never shifted.
"""

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from forms.errors import Problem
from forms.functions import ascii_digits

Loc = list[str | int]
Coercer = Callable[[Any, Loc, list[Problem]], Any]

_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
BE_YEAR = 2400
MAX_ACCURACY_M = 100.0


class BadValue(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


def _finite(x: float, what: str) -> float:
    if math.isfinite(x):
        return x
    raise BadValue("not_finite", f"{what} must be a finite number, got {x}")


def _to_float(raw: Any, what: str = "value") -> float:
    if type(raw) is float and math.isfinite(raw):  # the common case, checked first
        return raw
    if isinstance(raw, bool):
        raise BadValue("not_a_number", f"{what}: expected a number, got a boolean")
    if isinstance(raw, int | float):
        return _finite(float(raw), what)
    if isinstance(raw, str):
        text = ascii_digits(raw).strip()
        if _DECIMAL.fullmatch(text):
            return _finite(float(text), what)
    raise BadValue("not_a_number", f"{what}: expected a number, got {raw!r}"[:200])


def integer(raw: Any, loc: Loc, issues: list[Problem]) -> int:
    if type(raw) is int:
        return raw
    if isinstance(raw, str):
        text = ascii_digits(raw).strip()
        if _INT.fullmatch(text):
            return int(text)
    x = _to_float(raw)
    if not x.is_integer():
        raise BadValue("not_an_integer", f"expected a whole number, got {raw!r}")
    return int(x)


def decimal(raw: Any, loc: Loc, issues: list[Problem]) -> float:
    return _to_float(raw)


def text(raw: Any, loc: Loc, issues: list[Problem]) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise BadValue("wrong_type", f"expected text, got {type(raw).__name__}")


def select_one(raw: Any, loc: Loc, issues: list[Problem]) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise BadValue("wrong_type", f"expected one choice value, got {type(raw).__name__}")


def select_multiple(raw: Any, loc: Loc, issues: list[Problem]) -> list[str]:
    if isinstance(raw, str):
        return raw.split()
    if isinstance(raw, list):
        if all(type(v) is str for v in raw):
            return list(raw)
        if all(isinstance(v, str | int) and not isinstance(v, bool) for v in raw):
            return [str(v) for v in raw]
    raise BadValue("wrong_type", "expected a list of choice values or a space-separated string")


def _be_check(year: int, loc: Loc, issues: list[Problem]) -> None:
    if year >= BE_YEAR:
        issues.append(
            Problem(
                loc=loc,
                code="buddhist_era_year",
                message=f"looks like a Buddhist Era year ({year} = {year - 543} CE); stored as given",
            )
        )


def date(raw: Any, loc: Loc, issues: list[Problem]) -> str:
    if isinstance(raw, str):
        value = ascii_digits(raw).strip()
        try:
            parsed = dt.date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is not None:
            _be_check(parsed.year, loc, issues)
            return parsed.isoformat()
    raise BadValue("not_a_date", f"expected a date YYYY-MM-DD, got {raw!r}"[:200])


def make_datetime(default_tz: dt.tzinfo) -> Coercer:
    """Datetimes without an offset are read in the project's zone, and flagged."""

    def datetime(raw: Any, loc: Loc, issues: list[Problem]) -> str:
        try:
            parsed = dt.datetime.fromisoformat(ascii_digits(raw).strip())
        except (AttributeError, ValueError, TypeError):
            raise BadValue("not_a_datetime", f"expected an RFC 3339 date-time, got {raw!r}"[:200]) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=default_tz)
            issues.append(Problem(loc=loc, code="no_offset", message=f"no UTC offset; read as {default_tz}"))
        _be_check(parsed.year, loc, issues)
        return parsed.isoformat()

    return datetime


def time(raw: Any, loc: Loc, issues: list[Problem]) -> str:
    m = _TIME.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if m and int(m[1]) < 24 and int(m[2]) < 60 and (m[3] is None or int(m[3]) < 60):
        return f"{m[1]}:{m[2]}" if m[3] is None else f"{m[1]}:{m[2]}:{m[3]}"
    raise BadValue("not_a_time", f"expected a time HH:MM[:SS], got {raw!r}"[:200])


def geopoint(raw: Any, loc: Loc, issues: list[Problem]) -> dict[str, float | None]:
    if isinstance(raw, str):
        parts = raw.split()
        if not 2 <= len(parts) <= 4:
            raise BadValue("not_a_geopoint", "expected 'lat lon [alt [accuracy]]'")
        parts += [None] * (4 - len(parts))
        lat, lon, alt, acc = parts
    elif isinstance(raw, dict):
        if "lat" not in raw or "lon" not in raw:
            raise BadValue("not_a_geopoint", "a geopoint needs 'lat' and 'lon'")
        lat, lon, alt, acc = raw["lat"], raw["lon"], raw.get("alt"), raw.get("accuracy")
    else:
        raise BadValue("not_a_geopoint", f"expected a geopoint, got {type(raw).__name__}")
    try:
        lat, lon = _to_float(lat, "latitude"), _to_float(lon, "longitude")
        alt = None if alt is None else _to_float(alt, "altitude")
        acc = None if acc is None else _to_float(acc, "accuracy")
    except BadValue as exc:
        if exc.code == "not_finite":
            raise BadValue("coordinates_not_finite", exc.message) from None
        raise
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        if abs(lon) <= 90 and abs(lat) <= 180:
            raise BadValue(
                "coordinates_swapped",
                f"latitude {lat} is out of range; latitude and longitude look swapped ({lon}, {lat})",
            )
        raise BadValue("coordinates_out_of_range", f"({lat}, {lon}) is not a place on Earth")
    if acc is not None:
        if acc > MAX_ACCURACY_M:
            issues.append(
                Problem(loc=loc, code="low_accuracy", message=f"GPS accuracy {acc:g} m is worse than 100 m")
            )
        elif acc == 0:
            issues.append(
                Problem(
                    loc=loc,
                    code="zero_accuracy",
                    message="accuracy exactly 0: a hand-placed or mocked location",
                )
            )
        elif acc < 0:
            issues.append(
                Problem(loc=loc, code="negative_accuracy", message=f"accuracy {acc:g} m is negative")
            )
    return {"lat": lat, "lon": lon, "alt": alt, "accuracy": acc}


def _points(min_points: int) -> Coercer:
    def points(raw: Any, loc: Loc, issues: list[Problem]) -> list[dict[str, float | None]]:
        if isinstance(raw, str):
            raw = [p for p in raw.split(";") if p.strip()]
        if not isinstance(raw, list):
            raise BadValue("not_a_geometry", "expected a list of points or a ';'-separated string")
        result = []
        for i, point in enumerate(raw):
            try:
                result.append(geopoint(point, [*loc, i], issues))
            except BadValue as exc:
                raise BadValue(exc.code, f"point {i}: {exc.message}") from None
        if len(result) < min_points:
            issues.append(
                Problem(loc=loc, code="too_few_points", message=f"needs at least {min_points} points")
            )
        return result

    return points


def rank(raw: Any, loc: Loc, issues: list[Problem]) -> list[str]:
    """Choice values, most preferred first: a select_multiple whose order is kept."""
    return select_multiple(raw, loc, issues)


def acknowledged(raw: Any, loc: Loc, issues: list[Problem]) -> str:
    """A trigger or acknowledge question: ODK Collect sends "OK" once it is acknowledged."""
    if isinstance(raw, str) and raw.strip().upper() == "OK":
        return "OK"
    raise BadValue("not_acknowledged", f"expected 'OK' (acknowledged) or no answer, got {raw!r}"[:200])


def photo(raw: Any, loc: Loc, issues: list[Problem]) -> str:
    """An attachment (photo, audio, video, file, osm) is answered with the file's name."""
    if isinstance(raw, str):
        return raw
    raise BadValue("wrong_type", "expected a file name")


def as_given(raw: Any, loc: Loc, issues: list[Problem]) -> Any:
    return raw


ATTACHMENTS = ("photo", "audio", "video", "file", "osm")
# Field types whose coercer returns a value of exactly this type as given: the validator skips the call.
UNCHANGED: dict[str, type] = {"text": str, "integer": int} | dict.fromkeys(ATTACHMENTS, str)


def coercers(default_tz: dt.tzinfo) -> dict[str, Coercer]:
    return {
        "text": text,
        "integer": integer,
        "decimal": decimal,
        "select_one": select_one,
        "select_multiple": select_multiple,
        "date": date,
        "datetime": make_datetime(default_tz),
        "time": time,
        "geopoint": geopoint,
        "start-geopoint": geopoint,
        "geotrace": _points(2),
        "geoshape": _points(3),
        "calculate": as_given,
        "rank": rank,
        "trigger": acknowledged,
        "acknowledge": acknowledged,
    } | dict.fromkeys(ATTACHMENTS, photo)
