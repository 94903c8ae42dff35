"""Which area a point falls in, for one point or a million.

A point on a border shared by two areas (or in an overlap) counts once, for the area that comes
first in the layer (the lowest index); a point inside no area gets None, or -1 in an array.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from cityindex.areas import Area

NONE = -1


class Locator:
    def __init__(self, areas: Sequence[Area]) -> None:
        self.geometries = np.array([shapely.geometry.shape(area.geometry) for area in areas], dtype=object)
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)

    def locate(self, lon: float, lat: float) -> int | None:
        """The index of the area the point falls in (its border included), or None."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return int(hits.min()) if hits.size else None

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Each point's area index (int64), -1 for none; NaN coordinates are in none."""
        lons = np.asarray(lons, dtype=np.float64)
        lats = np.asarray(lats, dtype=np.float64)
        result = np.full(lons.shape, NONE, dtype=np.int64)
        if not lons.size or not len(self.geometries):
            return result
        finite = np.isfinite(lons) & np.isfinite(lats)
        index = np.flatnonzero(finite)
        which, area = self.tree.query(shapely.points(lons[index], lats[index]))  # bounding boxes only
        # Then the exact test, one prepared polygon against all its candidates at once; walking the
        # areas from the last to the first lets the lowest index write last, so it wins a border.
        order = np.argsort(area, kind="stable")
        which, area = index[which[order]], area[order]
        starts = np.flatnonzero(np.r_[True, area[1:] != area[:-1]])
        ends = np.r_[starts[1:], area.size]
        for start, end in zip(starts[::-1], ends[::-1], strict=True):
            candidates = which[start:end]
            inside = shapely.intersects_xy(self.geometries[area[start]], lons[candidates], lats[candidates])
            result[candidates[inside]] = area[start]
        return result
