"""The city index of a layer, for analysts: JSON, GeoJSON (a choropleth in QGIS), xlsx or csv."""

from __future__ import annotations

import asyncio
import re
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery

from survey_api.db.session import DB
from survey_api.errors import NotFound
from survey_api.indexing import output
from survey_api.indexing.run import index
from survey_api.routes.areas import layer_name
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller

BYTES = {"type": "string", "format": "binary"}


class IndexController(Controller):
    path = "/projects/{project:str}/index"
    tags = ["areas and index"]

    @get("/{file:str}", opt={"download": {media: BYTES for media in output.MEDIA_TYPES.values()}})
    async def get_index(
        self,
        project: FromPath[str],
        file: FromPath[str],
        db: DB,
        user: Caller,
        lang: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """`{layer}.json`, `.geojson`, `.xlsx` or `.csv`: one row per area with its records, each
        indicator's value and 0–100 score, each group's sub-index, the `index`, its `rank`, `coverage`
        and the 5–95% rank interval over 1,000 random weight draws (seeded: the same data gives the same
        figures). Only clean records count. `lang` picks the names and labels."""
        layer, _, format = file.rpartition(".")
        if not layer or format not in output.FORMATS:
            raise NotFound(f"No {file!r} here: the index is {{layer}}.json, .geojson, .xlsx or .csv.")
        access = await member(db, project, user, Action.READ)
        run = await index(db, access, layer_name(layer))
        tz = ZoneInfo(access.timezone)
        data = await asyncio.to_thread(lambda: b"".join(output.chunks(run, format, lang, tz)))
        name = re.sub(r"[^\w.-]+", "_", f"{access.slug}-index-{layer}", flags=re.ASCII) + f".{format}"
        disposition = {} if format == "json" else {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type=output.MEDIA_TYPES[format], headers=disposition)
