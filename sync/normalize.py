"""Submission normalisation: device clock skew and the project area check.

Clock skew. A tablet's clock may be minutes or years off (Android resets to 1970 or to its build date
after a flat battery); `sent_at` read by the same clock against the server clock measures the error.
Decisions:

- skew = server_now - sent_at; zero when `sent_at` is missing;
- under `DEAD_BAND` (2 minutes) the difference is transit time over slow mobile data, not clock error,
  so it is ignored (otherwise every time would shift later by the upload delay);
- over `MAX_SKEW` (100 years) `sent_at` is garbage rather than a wrong clock, so it is ignored too;
  a 1970 reset (about 56 years) is still corrected;
- naive device times are read in `assume_tz` (UTC unless the shell passes the project's zone).

The raw values are stored beside the corrected ones, so none of this loses information.
"""

import math
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from sync.errors import InvalidArea

DEAD_BAND = timedelta(minutes=2)
MAX_SKEW = timedelta(days=365 * 100)


def clock_skew(sent_at: datetime | None, server_now: datetime, assume_tz: tzinfo = UTC) -> timedelta:
    """How far the device clock is behind the server's (negative when it runs ahead)."""
    sent = utc_or_none(sent_at, assume_tz) if sent_at is not None else None
    if sent is None:
        return timedelta(0)
    skew = _aware(server_now, UTC) - sent
    if abs(skew) < DEAD_BAND or abs(skew) > MAX_SKEW:
        return timedelta(0)
    return skew


def correct(t: datetime | None, skew: timedelta, assume_tz: tzinfo = UTC) -> datetime | None:
    """A device time moved onto the server clock, in UTC; left uncorrected if that would overflow.

    None when the time itself has no UTC equivalent in the calendar (year 1 east of Greenwich, year
    9999 west of it): the caller keeps it as sent and says so.
    """
    aware = utc_or_none(t, assume_tz) if t is not None else None
    if aware is None:
        return None
    try:
        return aware + skew
    except OverflowError:
        return aware


def area_from_geojson(obj: Any) -> BaseGeometry:
    """A project area from a GeoJSON geometry or Feature, prepared so point checks stay fast."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        found = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise InvalidArea(f"an area must be a GeoJSON Polygon or MultiPolygon, got {found!r}", ["type"])
    try:
        geom = shape(obj)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidArea(f"unreadable coordinates: {exc}", ["coordinates"]) from None
    if geom.is_empty:
        raise InvalidArea("the area is empty", ["coordinates"])
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds) or minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InvalidArea("coordinates must be finite longitude, latitude pairs", ["coordinates"])
    if not geom.is_valid:
        raise InvalidArea(f"invalid geometry: {shapely.is_valid_reason(geom)}", ["coordinates"])
    shapely.prepare(geom)
    return geom


def outside_area(point: tuple[float, float], area: BaseGeometry | None) -> bool:
    """True when (lon, lat) lies outside the area; a point on the boundary counts as inside."""
    if area is None:
        return False
    if not shapely.is_prepared(area):
        shapely.prepare(area)  # idempotent cache on the geometry; areas come from area_from_geojson anyway
    lon, lat = point
    return not shapely.intersects_xy(area, lon, lat)


def point_problem(lat: Any, lon: Any) -> str | None:
    """Why a coordinate pair cannot be a location, naming a likely lat/lon swap; None when usable."""
    if isinstance(lat, bool) or isinstance(lon, bool):
        return "latitude and longitude must be numbers"
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return "latitude and longitude must be numbers"
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "latitude and longitude must be finite numbers"
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return None
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        return f"latitude {lat} is out of range; latitude and longitude look swapped"
    return f"coordinates ({lat}, {lon}) are out of range"


def utc_or_none(t: datetime, assume_tz: tzinfo = UTC) -> datetime | None:
    """`as_utc`, or None for a time at the calendar's ends that has no UTC equivalent."""
    try:
        return _aware(t, assume_tz).astimezone(UTC)
    except OverflowError:
        return None


def as_utc(t: datetime, assume_tz: tzinfo = UTC) -> datetime:
    """An aware UTC datetime; naive ones are read in `assume_tz`."""
    return _aware(t, assume_tz).astimezone(UTC)


def _aware(t: datetime, tz: tzinfo) -> datetime:
    return t.replace(tzinfo=tz) if t.tzinfo is None or t.utcoffset() is None else t
