"""A grid of lat/lon cells so the shell can find duplicate candidates through a B-tree, O(log n) per item.

Scheme: latitude is cut into bands `cell_m` metres high (on the same sphere the haversine uses).
Each band is cut into a whole number of cells around the globe, as many as fit while every cell stays
at least `cell_m` wide at the band's poleward edge, so cells never shrink below `cell_m` and the
antimeridian needs no special case (the column index wraps). A key is `(band, column)`; `pack_cell`
makes one int64 of it for a single-column index.

`neighbour_cells` returns every cell a circle of `radius_m` can touch: the exact latitude span of
the circle and, for longitude, the exact widest extent of a spherical cap, `asin(sin δ / cos φ)`;
a circle holding a pole covers whole bands. With the default 100 m cells and the default 25 m radius
that is 1 to 4 cells anywhere outside the polar caps (about 100 m × 100 m in Thailand, lat 5–21).
The cell size must stay fixed for an index; the radius may change freely.
"""

import functools
import math

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180
DEFAULT_CELL_M = 100.0
_SLACK = 1 + 1e-9


def cell_key(lat: float, lon: float, cell_m: float = DEFAULT_CELL_M) -> tuple[int, int]:
    """The cell holding a point."""
    band = _band(lat, cell_m)
    columns = _columns(band, cell_m)
    return band, int(((lon + 180.0) % 360.0) / (360.0 / columns)) % columns


def neighbour_cells(
    lat: float, lon: float, radius_m: float, cell_m: float = DEFAULT_CELL_M
) -> list[tuple[int, int]]:
    """Every cell that a point within `radius_m` of (lat, lon) can fall in."""
    return search_area(lat, lon, radius_m, cell_m)[0]


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) in degrees holding every point within `radius_m` of (lat, lon).

    Near a pole or across the antimeridian the longitude range is the whole circle (the cells still
    narrow the search there); elsewhere it is the cap's exact widest extent, as in `neighbour_cells`.
    """
    return search_area(lat, lon, radius_m, DEFAULT_CELL_M)[1]


def search_area(
    lat: float, lon: float, radius_m: float, cell_m: float = DEFAULT_CELL_M
) -> tuple[list[tuple[int, int]], tuple[float, float, float, float]]:
    """`neighbour_cells` and `bounding_box` of one circle, its extent worked out once."""
    delta = max(radius_m, 0.0) / EARTH_RADIUS_M
    span_lat = math.degrees(delta) * _SLACK + 1e-12
    south, north = max(-90.0, lat - span_lat), min(90.0, lat + span_lat)
    span_lon = 360.0
    if abs(lat) + span_lat < 90.0:  # else the circle holds a pole: whole bands
        ratio = min(1.0, math.sin(delta) / math.cos(math.radians(lat)))
        span_lon = math.degrees(math.asin(ratio)) * _SLACK + 1e-12
    if span_lon >= 360.0 or lon - span_lon < -180.0 or lon + span_lon > 180.0:
        box = (south, north, -180.0, 180.0)
    else:
        box = (south, north, lon - span_lon, lon + span_lon)
    cells: list[tuple[int, int]] = []
    for band in range(_band(south, cell_m), _band(north, cell_m) + 1):
        columns = _columns(band, cell_m)
        width = 360.0 / columns
        if 2 * span_lon >= 360.0:
            cells.extend((band, column) for column in range(columns))
            continue
        first = math.floor((lon - span_lon + 180.0) / width)
        last = math.floor((lon + span_lon + 180.0) / width)
        if last - first + 1 >= columns:
            cells.extend((band, column) for column in range(columns))
        else:
            cells.extend(dict.fromkeys((band, column % columns) for column in range(first, last + 1)))
    return cells, box


def pack_cell(key: tuple[int, int]) -> int:
    """One non-negative int64 per cell (band in the high 32 bits), for a single B-tree column."""
    band, column = key
    return (band << 32) | column


def _band(lat: float, cell_m: float) -> int:
    height = cell_m / M_PER_DEG
    last = math.ceil(180.0 / height) - 1
    return min(last, max(0, math.floor((lat + 90.0) / height)))


@functools.lru_cache(maxsize=65536)
def _columns(band: int, cell_m: float) -> int:
    height = cell_m / M_PER_DEG
    south, north = -90.0 + band * height, min(90.0, -90.0 + (band + 1) * height)
    poleward = min(90.0, max(abs(south), abs(north)))
    circumference = 360.0 * M_PER_DEG * math.cos(math.radians(poleward))
    return max(1, math.floor(circumference / cell_m))
