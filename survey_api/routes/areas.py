"""Area layers and the index's indicators: what a coordinator puts, what everyone reading the index sees."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec
import shapely
from litestar import Controller, Request, Response, delete, get, put
from litestar.params import FromPath

from cityindex.areas import LayerError, read_layer
from cityindex.settings import IndexSettings
from forms.errors import Problem
from survey_api.db.session import DB
from survey_api.errors import Invalid, NotFound
from survey_api.indexing.run import checked_settings
from survey_api.stores import areas as areas_store
from survey_api.stores import projects
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller

MAX_LAYER_BYTES = 20 * 1024 * 1024
"""A layer's GeoJSON, at most (413 beyond): a city's districts and blocks fit many times over."""
_LAYER_NAME = re.compile(r"^[^/\x00-\x1f\x7f]{1,255}$")
FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "description": "A Polygon or MultiPolygon feature with `properties.code` (unique) and `properties.name`"
                " (text, or text per language).",
            },
        },
    },
}


class LayerSaved(msgspec.Struct, frozen=True, kw_only=True):
    layer: str
    count: int
    warnings: list[Problem]
    """Geometries repaired (within 0.1% of their area), located like errors."""


class LayerInfo(msgspec.Struct, frozen=True, kw_only=True):
    layer: str
    count: int
    updated_at: datetime


class LayerList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[LayerInfo]


def layer_name(layer: str) -> str:
    if not _LAYER_NAME.match(layer):
        message = "a layer name is 1 to 255 characters, without / or control characters"
        raise Invalid(message, [Problem(loc=["path", "layer"], code="bad_name", message=message)])
    return layer


class AreaController(Controller):
    path = "/projects/{project:str}"
    tags = ["areas and index"]

    @put(
        "/areas/{layer:str}",
        request_max_body_size=MAX_LAYER_BYTES,
        opt={"request_body": {"application/json": FEATURE_COLLECTION}, "problems": (413,)},
    )
    async def put_layer(
        self, project: FromPath[str], layer: FromPath[str], request: Request, db: DB, user: Caller
    ) -> LayerSaved:
        """Put an area layer (replacing one of that name): a GeoJSON FeatureCollection of Polygon or
        MultiPolygon features, each with a unique `properties.code` and a `properties.name`.

        Geometries shapely can repair without changing their area by more than 0.1% are repaired and
        listed in `warnings`; anything else is a 422 naming every bad feature by index and code. At
        most 50,000 features, 5,000,000 vertices and 20 MB."""
        access = await member(db, project, user, Action.MANAGE)
        name = layer_name(layer)
        collection = await request.json()
        try:
            read = read_layer(collection)
        except LayerError as exc:
            raise Invalid(f"The layer {name!r} cannot be used: {exc}", exc.problems) from None
        rows = []
        for position, area in enumerate(read.areas):
            min_lon, min_lat, max_lon, max_lat = shapely.bounds(
                shapely.geometry.shape(area.geometry)
            ).tolist()
            rows.append(
                {
                    "code": area.code,
                    "position": position,
                    "name": area.name,
                    "names": area.names,
                    "geometry": area.geometry,
                    "area_km2": area.area_km2,
                    "min_lon": min_lon,
                    "min_lat": min_lat,
                    "max_lon": max_lon,
                    "max_lat": max_lat,
                }
            )
        await areas_store.replace_layer(db, access.id, name, rows)
        await projects.audit(
            db,
            action="areas.put",
            user_id=user.id,
            project_id=access.id,
            target=name,
            detail={"count": len(rows)},
        )
        return LayerSaved(layer=name, count=len(rows), warnings=read.warnings)

    @get("/areas")
    async def list_layers(self, project: FromPath[str], db: DB, user: Caller) -> LayerList:
        """The project's area layers, by name, with their number of areas."""
        access = await member(db, project, user, Action.READ)
        found = await areas_store.layers(db, access.id)
        return LayerList(items=[LayerInfo(layer=n, count=c, updated_at=at) for n, c, at in found])

    @get("/areas/{layer:str}", opt={"download": {"application/geo+json": FEATURE_COLLECTION}})
    async def get_layer(
        self, project: FromPath[str], layer: FromPath[str], db: DB, user: Caller
    ) -> Response[bytes]:
        """A layer as GeoJSON: each area's polygons, `code`, `name` (and `names`) and `area_km2`."""
        access = await member(db, project, user, Action.READ)
        rows = await areas_store.layer(db, access.id, layer_name(layer))
        if not rows:
            raise NotFound(f"No area layer {layer!r} in this project.")
        features = [
            {
                "type": "Feature",
                "geometry": r.geometry,
                "properties": {"code": r.code, "name": r.name, "names": r.names, "area_km2": r.area_km2},
            }
            for r in rows
        ]
        return Response(
            msgspec.json.encode({"type": "FeatureCollection", "features": features}),
            media_type="application/geo+json",
        )

    @delete("/areas/{layer:str}", status_code=204)
    async def delete_layer(self, project: FromPath[str], layer: FromPath[str], db: DB, user: Caller) -> None:
        """Remove a layer and its areas."""
        access = await member(db, project, user, Action.MANAGE)
        if not await areas_store.delete_layer(db, access.id, layer_name(layer)):
            raise NotFound(f"No area layer {layer!r} in this project.")
        await projects.audit(db, action="areas.delete", user_id=user.id, project_id=access.id, target=layer)

    @put("/indicators", opt={"request_body": {"application/json": IndexSettings}})
    async def put_indicators(
        self, project: FromPath[str], request: Request, db: DB, user: Caller
    ) -> IndexSettings:
        """Set the index's indicators: API.md's list, or `{"indicators": [...], "aggregation":
        "arithmetic"|"geometric", "min_coverage": 0.5}`. Checked against the project's forms (unknown
        form or field, `field` missing or not a number for mean/sum/median, a `where` value that is no
        choice): 422 listing every problem."""
        access = await member(db, project, user, Action.MANAGE)
        settings = await checked_settings(db, access, await request.json())
        await areas_store.put_indicators(db, access.id, msgspec.to_builtins(settings), user.id)
        await projects.audit(db, action="indicators.put", user_id=user.id, project_id=access.id)
        return settings

    @get("/indicators")
    async def get_indicators(self, project: FromPath[str], db: DB, user: Caller) -> IndexSettings:
        """The index's indicators as set (404 before any are)."""
        access = await member(db, project, user, Action.READ)
        stored = await areas_store.indicators(db, access.id)
        if stored is None:
            raise NotFound("This project has no indicators yet.")
        return msgspec.convert(stored, IndexSettings)
