"""Points located in areas: borders count once, for the area first in the layer (pure)."""

import numpy as np
import shapely

from cityindex.areas import Locator, read_layer
from tests.cityindex.geo import LAT0, LON0, SIDE, collection, district

LAYER = read_layer(collection(district(0, "A"), district(1, "B"), district(2, "C"))).areas
MIDDLE = LAT0 + SIDE / 2


def test_a_point_is_in_the_area_that_holds_it_and_outside_is_none():
    locator = Locator(LAYER)
    assert locator.locate(LON0 + 0.005, MIDDLE) == 0
    assert locator.locate(LON0 + 0.015, MIDDLE) == 1
    assert locator.locate(LON0 + 0.025, MIDDLE) == 2
    assert locator.locate(LON0 - 0.001, MIDDLE) is None
    assert locator.locate(LON0 + 0.005, LAT0 + 0.02) is None


def test_a_point_on_a_shared_border_counts_once_for_the_first_area_in_the_layer():
    border = LON0 + SIDE  # A's east edge is B's west edge
    lons = np.array([border, border, LON0 + 2 * SIDE, LON0])
    lats = np.array([MIDDLE, LAT0, MIDDLE, LAT0])  # on the edge, on the shared corner, B|C, A's own corner
    assert Locator(LAYER).locate_many(lons, lats).tolist() == [0, 0, 1, 0]
    assert Locator(LAYER).locate(border, MIDDLE) == 0
    reversed_layer = LAYER[::-1]  # C, B, A: now B comes before A
    assert Locator(reversed_layer).locate_many(lons, lats).tolist() == [1, 1, 0, 2]
    assert Locator(reversed_layer).locate(border, MIDDLE) == 1


def test_many_points_are_located_as_one_by_one_and_the_rest_is_minus_one():
    rng = np.random.default_rng(7)
    lons = rng.uniform(LON0 - 0.005, LON0 + 3.5 * SIDE, 2_000)
    lats = rng.uniform(LAT0 - 0.005, LAT0 + 1.5 * SIDE, 2_000)
    lons[:3] = [np.nan, LON0 + 0.005, np.inf]
    lats[:3] = [MIDDLE, np.nan, MIDDLE]
    located = Locator(LAYER).locate_many(lons, lats)
    shapes = [shapely.geometry.shape(a.geometry) for a in LAYER]
    expected = [
        next((i for i, s in enumerate(shapes) if s.intersects(shapely.Point(x, y))), -1)
        for x, y in zip(lons, lats, strict=True)
    ]
    assert located.dtype == np.int64
    assert located.tolist() == expected
    assert {-1, 0, 1, 2} <= set(located.tolist())
    assert located[:3].tolist() == [-1, -1, -1]


def test_an_empty_batch_or_layer_locates_nothing():
    assert Locator(LAYER).locate_many(np.array([]), np.array([])).tolist() == []
    assert Locator([]).locate_many(np.array([LON0]), np.array([LAT0])).tolist() == [-1]
    assert Locator([]).locate(LON0, LAT0) is None
