"""Which records an export with `area=LAYER:CODE` reads: the area checked, its box given to the
database, and each row located in it as the index would locate it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import numpy as np

from cityindex.areas import Area, Locator
from forms.errors import Problem
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.errors import Invalid
from survey_api.exporting.params import ExportParams
from survey_api.stores import areas as areas_store
from survey_api.stores.exports import Filters
from survey_api.web.access import ProjectAccess


async def area_of(db: Session, access: ProjectAccess, params: ExportParams) -> tables.Area:
    """The area `area=LAYER:CODE` names; a 422 naming the unknown layer or code."""
    assert params.area is not None
    layer, code = params.area
    found = await areas_store.one(db, access.id, layer, code)
    if found is None:
        layers = [name for name, _, _ in await areas_store.layers(db, access.id)]
        message = (
            f"no area {code!r} in layer {layer!r}"
            if layer in layers
            else f"no area layer {layer!r} in this project ({', '.join(layers) or 'it has none yet'})"
        )
        raise Invalid(message, [Problem(loc=["query", "area"], code="unknown_area", message=message)])
    return found


async def layer_of(db: Session, access: ProjectAccess, layer: str) -> list[Area]:
    rows = await areas_store.layer(db, access.id, layer)
    return [Area(code=r.code, name=r.name, geometry=r.geometry, area_km2=r.area_km2) for r in rows]


def within(filters: Filters, area: tables.Area) -> Filters:
    """The filters narrowed to the area's bounding box (the database's part of the point-in-polygon)."""
    box = (area.min_lon, area.min_lat, area.max_lon, area.max_lat)
    if filters.bbox is not None:
        box = (
            max(box[0], filters.bbox[0]),
            max(box[1], filters.bbox[1]),
            min(box[2], filters.bbox[2]),
            min(box[3], filters.bbox[3]),
        )
    return msgspec.structs.replace(filters, bbox=box)


async def inside(
    pages: AsyncIterator[Sequence[Any]], area: tuple[list[Area], int], lon: int = 8, lat: int = 7
) -> AsyncIterator[Sequence[Any]]:
    """The rows (of `exports_store.COLUMNS`, or with the longitude and latitude at `lon` and `lat`)
    the index would count in the area."""
    layer, position = area
    locator = Locator(layer)
    async for page in pages:
        lons = np.array([np.nan if row[lon] is None else row[lon] for row in page], dtype=np.float64)
        lats = np.array([np.nan if row[lat] is None else row[lat] for row in page], dtype=np.float64)
        keep = locator.locate_many(lons, lats) == position
        yield [row for row, kept in zip(page, keep.tolist(), strict=True) if kept]
