"""GeoJSON Polygon/MultiPolygon coordinates checked, built into shapely geometries and repaired.

The coordinates arrive JSON-decoded and untrusted: each feature's nesting is checked for its types
and lengths in Python (`parse`), then the whole layer's numbers at once in numpy and GEOS (`measure`):
finite, within WGS 84, rings closed, valid or repairable, its area in km².
"""

import math
from itertools import chain

import msgspec
import numpy as np
import shapely

from cityindex.projection import area_km2, to_equal_area
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


class Shape(msgspec.Struct):
    """One feature's rings as (n, 2) lon/lat arrays, polygon by polygon, and where each sits."""

    loc: Loc
    rings: list[np.ndarray]
    ring_locs: list[Loc]
    polygon_sizes: list[int]
    """Rings per polygon (exterior first)."""
    sources: list[list | None]
    """Each ring as given when it is already [[lon, lat], ...] of numbers: reused, not copied."""


class Measured(msgspec.Struct):
    geometry: dict
    area_km2: float
    warning: Problem | None


def parse(geometry: object, loc: Loc, budget: Budget) -> Shape:
    """The geometry's coordinates, checked for shape and type (not yet for values)."""
    if geometry is None:
        raise Bad(loc, "missing_geometry", "has no geometry")
    if not isinstance(geometry, dict):
        raise Bad(loc, "wrong_geometry_type", "geometry must be a GeoJSON object")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        shown = kind if isinstance(kind, str) else type(kind).__name__
        raise Bad([*loc, "type"], "wrong_geometry_type", f"is a {shown[:40]}, not a Polygon or MultiPolygon")
    coordinates = geometry.get("coordinates")
    loc = [*loc, "coordinates"]
    if not isinstance(coordinates, list):
        raise Bad(loc, "malformed_coordinates", "coordinates must be a list")
    multi = kind == "MultiPolygon"
    polygons = coordinates if multi else [coordinates]
    if not polygons or not (multi or polygons[0]):
        raise Bad(loc, "empty_geometry", "has an empty geometry")
    shape = Shape(loc=loc, rings=[], ring_locs=[], polygon_sizes=[], sources=[])
    for p, rings in enumerate(polygons):
        ploc = [*loc, p] if multi else loc
        if not isinstance(rings, list) or not rings:
            raise Bad(ploc, "malformed_coordinates", "a polygon must be a non-empty list of rings")
        for r, ring in enumerate(rings):
            lonlat, plain = _ring(ring, [*ploc, r], budget)
            shape.rings.append(lonlat)
            shape.sources.append(ring if plain else None)
            shape.ring_locs.append([*ploc, r])
        shape.polygon_sizes.append(len(rings))
    return shape


def _ring(ring: object, loc: Loc, budget: Budget) -> tuple[np.ndarray, bool]:
    """(n, 2) lon/lat, and whether the ring was plain [lon, lat] pairs of numbers."""
    if not isinstance(ring, list):
        raise Bad(loc, "malformed_coordinates", "a ring must be a list of positions")
    budget.left -= len(ring)
    if budget.left < 0:
        raise Bad(loc, "too_many_vertices", "the layer has too many vertices in all")
    if len(ring) < 4:
        raise Bad(loc, "too_few_positions", f"a ring needs at least 4 positions, has {len(ring)}")
    fast = _fast(ring)
    return fast if fast is not None else (_slow(ring, loc), False)


def _fast(ring: list[object]) -> tuple[np.ndarray, bool] | None:
    """(n, 2) lon/lat of a well-formed ring in a few C loops, and whether every position was a
    pair; None to look closer."""
    if set(map(type, ring)) != {list}:
        return None
    lengths = set(map(len, ring))  # type: ignore[arg-type]
    if not lengths <= {2, 3} or not set(map(type, chain.from_iterable(ring))) <= {float, int}:  # type: ignore[arg-type]
        return None
    try:
        if lengths == {2}:
            flat = np.fromiter(chain.from_iterable(ring), dtype=np.float64, count=2 * len(ring))  # type: ignore[arg-type]
            return flat.reshape(-1, 2), True
        return np.array([p[:2] for p in ring], dtype=np.float64), False  # type: ignore[index]
    except OverflowError:
        return None


def _slow(ring: list[object], loc: Loc) -> np.ndarray:
    """The ring checked position by position, to name the first bad one."""
    for i, position in enumerate(ring):
        if not isinstance(position, list) or not 2 <= len(position) <= 3:
            raise Bad([*loc, i], "malformed_coordinates", "a position is [lon, lat] or [lon, lat, alt]")
        for x in position:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise Bad([*loc, i], "malformed_coordinates", "a coordinate must be a finite number")
    return np.array([position[:2] for position in ring], dtype=np.float64)  # type: ignore[index]


def measure(shapes: list[Shape]) -> list[Measured | Bad]:
    """Each shape checked, built, made valid if a repair barely changes its area, and measured."""
    results: list[Measured | Bad | None] = [None] * len(shapes)
    for s, bad in _check_values(shapes).items():
        results[s] = bad
    good = [s for s, result in enumerate(results) if result is None]
    if good:
        geometries = _build([shapes[s] for s in good])
        valid = shapely.is_valid(geometries)
        km2 = shapely.area(shapely.transform(geometries, to_equal_area)) / 1e6
        for s, geometry, is_valid, area in zip(good, geometries, valid, km2, strict=True):
            if is_valid and area > 0:
                shape = shapes[s]
                rings = iter(
                    source if source is not None else ring.tolist()
                    for ring, source in zip(shape.rings, shape.sources, strict=True)
                )
                coordinates = [[next(rings) for _ in range(n)] for n in shape.polygon_sizes]
                results[s] = Measured({"type": "MultiPolygon", "coordinates": coordinates}, float(area), None)
            elif is_valid:
                results[s] = Bad(shapes[s].loc[:-1], "empty_geometry", "has no area")
            else:
                results[s] = _repair(geometry, float(area), shapes[s].loc[:-1])
    return results  # type: ignore[return-value]


def _check_values(shapes: list[Shape]) -> dict[int, Bad]:
    """The first bad number or open ring of each shape that has one, found for all at once."""
    rings = [ring for shape in shapes for ring in shape.rings]
    if not rings:
        return {}
    owner = np.repeat(np.arange(len(shapes)), [len(shape.rings) for shape in shapes])
    locs = [loc for shape in shapes for loc in shape.ring_locs]
    sizes = np.array([len(ring) for ring in rings])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    lonlat = np.concatenate(rings)
    found: dict[int, tuple[int, Bad]] = {}  # shape -> (ring, its first problem)

    def keep(r: int, bad: Bad) -> None:
        s = int(owner[r])
        if s not in found or r < found[s][0]:
            found[s] = (r, bad)

    nonfinite = ~np.isfinite(lonlat).all(axis=1)
    outside = ~nonfinite & ((np.abs(lonlat[:, 0]) > 180) | (np.abs(lonlat[:, 1]) > 90))
    for row in np.flatnonzero(nonfinite | outside)[::-1]:  # the first of a ring written last
        r = int(np.searchsorted(starts, row, side="right") - 1)
        at = [*locs[r], int(row - starts[r])]
        if nonfinite[row]:
            keep(r, Bad(at, "malformed_coordinates", "a coordinate must be a finite number"))
        else:
            lon, lat = lonlat[row]
            message = f"position ({lon:g}, {lat:g}) is outside WGS 84 (lon −180..180, lat −90..90)"
            keep(r, Bad(at, "coordinate_out_of_range", message))
    unclosed = np.flatnonzero((lonlat[starts] != lonlat[starts + sizes - 1]).any(axis=1))
    for r in unclosed[::-1]:
        keep(int(r), Bad(locs[r], "unclosed_ring", "a ring must end where it starts (it is not closed)"))
    return {s: bad for s, (_, bad) in found.items()}


def _build(shapes: list[Shape]) -> np.ndarray:
    """The shapes as 2D shapely MultiPolygons, all in one call."""
    rings = [ring for shape in shapes for ring in shape.rings]
    ring_offsets = np.r_[0, np.cumsum([len(ring) for ring in rings])]
    polygon_offsets = np.r_[0, np.cumsum([n for shape in shapes for n in shape.polygon_sizes])]
    geometry_offsets = np.r_[0, np.cumsum([len(shape.polygon_sizes) for shape in shapes])]
    return shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON,
        np.concatenate(rings),
        (ring_offsets, polygon_offsets, geometry_offsets),
    )


def _repair(geometry: shapely.Geometry, before: float, loc: Loc) -> Measured | Bad:
    """An invalid geometry made valid when that barely changes its area (before, in km²)."""
    reason = shapely.is_valid_reason(geometry)
    fixed = _polygonal(shapely.make_valid(geometry))
    after = area_km2(fixed) if fixed is not None else 0.0
    if fixed is None or after <= 0:
        return Bad(loc, "not_polygonal", f"is invalid ({reason}) and has no area once repaired")
    change = abs(after - before) / before if before > 0 else math.inf
    if change > MAX_AREA_CHANGE:
        shown = "its area from nothing" if math.isinf(change) else f"its area by {change:.2%}"
        message = f"is invalid ({reason}); repairing it would change {shown} (more than 0.1%)"
        return Bad(loc, "invalid_geometry", message)
    message = f"was invalid ({reason}); repaired, its area changed by {change:.4%}"
    return Measured(_geojson(fixed), after, Problem(loc=loc, code="repaired_geometry", message=message))


def _polygonal(geometry: shapely.Geometry) -> shapely.MultiPolygon | None:
    """The polygons of a repair's result (collapsed lines and points dropped)."""
    polygons = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, shapely.Polygon):
            polygons.append(part)
        elif isinstance(part, shapely.MultiPolygon | shapely.GeometryCollection):
            inner = _polygonal(part)
            polygons.extend(inner.geoms if inner is not None else [])
    return shapely.MultiPolygon(polygons) if polygons else None


def _geojson(geometry: shapely.MultiPolygon) -> dict:
    """A GeoJSON MultiPolygon with lists (not tuples), full precision."""
    return {
        "type": "MultiPolygon",
        "coordinates": [
            [shapely.get_coordinates(ring).tolist() for ring in (p.exterior, *p.interiors)]
            for p in geometry.geoms
        ],
    }
