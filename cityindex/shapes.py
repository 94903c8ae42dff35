"""GeoJSON Polygon/MultiPolygon coordinates checked, built into shapely geometries and repaired.

The coordinates arrive JSON-decoded and untrusted: every level of nesting is checked for its type
and length before numpy sees it, so a hostile layer costs time in proportion to its size only.
"""

import math

import numpy as np
import shapely

from cityindex.projection import area_km2
from forms.errors import Problem

MAX_AREA_CHANGE = 0.001
"""A repair may change a geometry's area by at most 0.1%; more means the drawing is wrong."""

Loc = list[str | int]


class Budget:
    """The vertices a whole layer may still spend."""

    def __init__(self, vertices: int) -> None:
        self.left = vertices


class Bad(Exception):
    """One feature's geometry is unusable; carries where and why."""

    def __init__(self, loc: Loc, code: str, message: str) -> None:
        self.loc, self.code, self.message = loc, code, message
        super().__init__(message)


def polygon_list(geometry: object, loc: Loc) -> tuple[list[object], bool]:
    """The geometry's polygons' coordinates (a Polygon as a one-polygon list), and if it is Multi."""
    if geometry is None:
        raise Bad(loc, "missing_geometry", "has no geometry")
    if not isinstance(geometry, dict):
        raise Bad(loc, "wrong_geometry_type", "geometry must be a GeoJSON object")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        shown = kind if isinstance(kind, str) else type(kind).__name__
        raise Bad([*loc, "type"], "wrong_geometry_type", f"is a {shown[:40]}, not a Polygon or MultiPolygon")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list):
        raise Bad([*loc, "coordinates"], "malformed_coordinates", "coordinates must be a list")
    return ([coordinates], False) if kind == "Polygon" else (coordinates, True)


def build(geometry: object, loc: Loc, budget: Budget) -> shapely.MultiPolygon:
    """The checked geometry as a 2D shapely MultiPolygon (possibly invalid, never repaired here)."""
    polygons, multi = polygon_list(geometry, loc)
    loc = [*loc, "coordinates"]
    if not polygons or not (multi or polygons[0]):
        raise Bad(loc, "empty_geometry", "has an empty geometry")
    built = []
    for p, rings in enumerate(polygons):
        ploc = [*loc, p] if multi else loc
        if not isinstance(rings, list) or not rings:
            raise Bad(ploc, "malformed_coordinates", "a polygon must be a non-empty list of rings")
        arrays = [_ring(ring, [*ploc, r], budget) for r, ring in enumerate(rings)]
        built.append(shapely.Polygon(arrays[0], arrays[1:]))
    return shapely.MultiPolygon(built)


def _ring(ring: object, loc: Loc, budget: Budget) -> np.ndarray:
    if not isinstance(ring, list):
        raise Bad(loc, "malformed_coordinates", "a ring must be a list of positions")
    budget.left -= len(ring)
    if budget.left < 0:
        raise Bad(loc, "too_many_vertices", "the layer has too many vertices in all")
    if len(ring) < 4:
        raise Bad(loc, "too_few_positions", f"a ring needs at least 4 positions, has {len(ring)}")
    for i, position in enumerate(ring):
        if not isinstance(position, list) or not 2 <= len(position) <= 3:
            raise Bad([*loc, i], "malformed_coordinates", "a position is [lon, lat] or [lon, lat, alt]")
        for x in position:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise Bad([*loc, i], "malformed_coordinates", "a coordinate must be a finite number")
    lonlat = np.array([position[:2] for position in ring], dtype=np.float64)
    outside = np.flatnonzero((np.abs(lonlat[:, 0]) > 180) | (np.abs(lonlat[:, 1]) > 90))
    if outside.size:
        i = int(outside[0])
        lon, lat = lonlat[i]
        message = f"position ({lon:g}, {lat:g}) is outside WGS 84 (lon −180..180, lat −90..90)"
        raise Bad([*loc, i], "coordinate_out_of_range", message)
    if not np.array_equal(lonlat[0], lonlat[-1]):
        raise Bad(loc, "unclosed_ring", "a ring must end where it starts (it is not closed)")
    return lonlat


def repair(geometry: shapely.MultiPolygon, loc: Loc) -> tuple[shapely.MultiPolygon, Problem | None]:
    """The geometry made valid when that barely changes its area, with the warning to give."""
    if shapely.is_valid(geometry):
        if geometry.is_empty or area_km2(geometry) <= 0:
            raise Bad(loc, "empty_geometry", "has no area")
        return geometry, None
    reason = shapely.is_valid_reason(geometry)
    fixed = _polygonal(shapely.make_valid(geometry))
    if fixed is None or fixed.is_empty or area_km2(fixed) <= 0:
        raise Bad(loc, "not_polygonal", f"is invalid ({reason}) and has no area once repaired")
    before, after = area_km2(geometry), area_km2(fixed)
    change = abs(after - before) / before if before > 0 else math.inf
    if change > MAX_AREA_CHANGE:
        shown = "its area from nothing" if math.isinf(change) else f"its area by {change:.2%}"
        message = f"is invalid ({reason}); repairing it would change {shown} (more than 0.1%)"
        raise Bad(loc, "invalid_geometry", message)
    message = f"was invalid ({reason}); repaired, its area changed by {change:.4%}"
    return fixed, Problem(loc=loc, code="repaired_geometry", message=message)


def _polygonal(geometry: shapely.Geometry) -> shapely.MultiPolygon | None:
    """The polygons of a repair's result (collapsed lines and points dropped)."""
    parts = shapely.get_parts(geometry)
    polygons = []
    for part in parts:
        if isinstance(part, shapely.Polygon):
            polygons.append(part)
        elif isinstance(part, shapely.MultiPolygon | shapely.GeometryCollection):
            inner = _polygonal(part)
            polygons.extend(inner.geoms if inner is not None else [])
    return shapely.MultiPolygon(polygons) if polygons else None


def to_geojson(geometry: shapely.MultiPolygon) -> dict:
    """A GeoJSON MultiPolygon with lists (not tuples), full precision."""
    return {
        "type": "MultiPolygon",
        "coordinates": [
            [shapely.get_coordinates(ring).tolist() for ring in (p.exterior, *p.interiors)]
            for p in geometry.geoms
        ],
    }
