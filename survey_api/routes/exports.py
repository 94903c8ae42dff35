"""Exports for analysts: a form's records as xlsx, csv (a zip when it has repeats) or GeoJSON, streamed."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from survey_api.db.session import DB
from survey_api.errors import NotFound
from survey_api.exporting import run
from survey_api.exporting.params import FORMATS, MEDIA_TYPES, ExportRequest, check
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller

BYTES = {"type": "string", "format": "binary"}
DOWNLOADS = {media: BYTES for media in MEDIA_TYPES.values()}


class ExportController(Controller):
    path = "/projects/{project:str}/forms/{key:str}"
    tags = ["exports"]

    @get("/{file:str}", opt={"download": DOWNLOADS})
    async def export(
        self,
        project: FromPath[str],
        key: FromPath[str],
        file: FromPath[str],
        request: Request,
        db: DB,
        user: Caller,
        lang: FromQuery[str | None] = None,
        labels: FromQuery[str | None] = None,
        include: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        bbox: FromQuery[str | None] = None,
        area: FromQuery[str | None] = None,
        geometry: FromQuery[str | None] = None,
        media: FromQuery[str | None] = None,
    ) -> Stream:
        """`export.xlsx`, `export.csv` or `export.geojson`: every record of every version in one schema.

        `include=clean` (default: live records with nothing to review) or `all` (with `_status`);
        `since`/`until` (when a record was first received, RFC 3339), `bbox=minlon,minlat,maxlon,maxlat`,
        `labels=true` with `lang` for labels instead of names and values, `geometry=PATH` (GeoJSON) for
        a geopoint, geotrace or geoshape field as the geometry instead of the record's location.
        Fields marked sensitive are empty without the `pii` flag. A photo, audio, video or file answer
        is the link that downloads its file (a hyperlink in xlsx), under `SURVEY_PUBLIC_URL` or the
        address of this request; `media=true` makes a zip of the table file(s) and
        `media/<submission uuid>/<file name>` for every file of the exported records. Streamed: memory
        stays flat."""
        name, _, format = file.rpartition(".")
        if name != "export" or format not in FORMATS:
            raise NotFound(f"No {file!r} here: exports are export.xlsx, export.csv and export.geojson.")
        access = await member(db, project, user, Action.READ)
        params = check(
            ExportRequest(
                lang=lang,
                labels=labels,
                include=include,
                since=since,
                until=until,
                bbox=bbox,
                area=area,
                geometry=geometry,
                media=media,
            ),
            format,
        )
        prepared = await run.prepare(db, access, key, params, base_url(request))
        return Stream(
            run.stream(request.app.state.sessionmaker, prepared, media=request.app.state.media),
            media_type=prepared.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{prepared.filename}"',
                "Cache-Control": "private, no-store",
                "X-Record-Count": str(prepared.total),
            },
        )


def base_url(request: Request) -> str:
    """The server's address for links: `SURVEY_PUBLIC_URL` when set, else the one this request came in on."""
    configured = request.app.state.settings.public_url
    return configured if configured else str(request.base_url).rstrip("/")
