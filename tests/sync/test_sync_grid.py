import math
import random

import pytest

from sync.dedup import haversine_m
from sync.grid import DEFAULT_CELL_M, bounding_box, cell_key, neighbour_cells, pack_cell


def offset(lat, lon, metres, bearing):
    """A point `metres` away on the sphere (destination formula)."""
    r = 6_371_008.8
    d, b = metres / r, math.radians(bearing)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def test_every_point_within_radius_falls_in_a_neighbour_cell():
    rng = random.Random(7)
    for _ in range(3000):
        lat = rng.choice([rng.uniform(5, 21), rng.uniform(-89.99, 89.99)])
        lon = rng.choice([rng.uniform(97, 106), rng.uniform(-180, 180), 179.99995])
        radius = rng.choice([5.0, 25.0, 99.0, 250.0])
        cells = set(neighbour_cells(lat, lon, radius))
        assert cell_key(lat, lon) in cells
        other = offset(lat, lon, radius * rng.random() * 0.999999, rng.uniform(0, 360))
        assert haversine_m(lat, lon, *other) <= radius
        assert cell_key(*other) in cells, (lat, lon, radius, other)


def test_few_cells_for_the_default_radius_in_thailand():
    counts = [len(neighbour_cells(14.97 + i * 1e-4, 102.08 + i * 3e-4, 25)) for i in range(200)]
    assert min(counts) >= 1 and max(counts) <= 4


def test_cells_are_about_the_chosen_size_in_thailand():
    a = cell_key(14.97, 102.08)
    b = cell_key(14.97 + DEFAULT_CELL_M * 1.01 / 111_195, 102.08)
    assert b[0] == a[0] + 1
    assert pack_cell(a) == (a[0] << 32) | a[1] and pack_cell(a) < 2**63


def test_antimeridian_and_pole():
    cells = neighbour_cells(0.0, 179.9999, 25)
    assert cell_key(0.0, -179.9999) in cells
    assert len(neighbour_cells(89.99999, 0.0, 25)) <= 4


@pytest.mark.parametrize(
    ("lat", "lon"), [(14.97, 102.08), (-33.9, 18.4), (60.0, 10.0), (89.9999, 0.0), (0.0, 179.9999)]
)
def test_bounding_box_holds_every_point_of_the_circle(lat: float, lon: float) -> None:
    radius = 30.0
    south, north, west, east = bounding_box(lat, lon, radius)
    for bearing in range(0, 360, 5):
        p_lat, p_lon = offset(lat, lon, radius * 0.999, bearing)
        assert south <= p_lat <= north
        assert west <= p_lon <= east or (west, east) == (-180.0, 180.0)
    assert north - south < 0.001  # about 2 × 30 m of latitude, not a band around the globe
