"""One export, from the request (or job, or command) to its bytes: checked and laid out first, then
streamed from a server-side cursor through the writer in a worker thread."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec

from cityindex.areas import Area
from exports import bundle, geojson, layout, xlsx
from exports import csvs as csv_writer
from exports.geojson import Features, GeometryError
from exports.rows import SUBMISSION, Flattener, Options, Record
from exports.schema import Schema
from exports.zipstream import ZipStream
from forms.errors import Problem
from forms.model import METADATA_COLUMNS, METADATA_KINDS, load_definition
from survey_api.db.session import Session, Sessions, unit_of_work
from survey_api.errors import Invalid, NotFound
from survey_api.exporting import files
from survey_api.exporting.areas import area_of, inside, layer_of, within
from survey_api.exporting.bridge import Bridge
from survey_api.exporting.params import MEDIA_TYPES, ExportParams
from survey_api.stores import exports as exports_store
from survey_api.stores import forms as forms_store
from survey_api.stores.media import MediaStore
from survey_api.web.access import ProjectAccess

METADATA_COLUMN = dict(zip(METADATA_KINDS, METADATA_COLUMNS, strict=True))


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an export needs once its parameters and the caller's rights are checked."""

    project: str
    form_id: uuid.UUID
    schema: Schema
    params: ExportParams
    options: Options
    timezone: str
    total: int
    """Records the filters match when the export starts (its progress is counted against it)."""
    area: tuple[list[Area], int] | None = None
    """`area=LAYER:CODE` as its layer and the area's place in it: only records located there (as the
    index locates them: a point on a border shared by two areas belongs to the first) are exported."""
    project_id: uuid.UUID | None = None
    base_url: str | None = None
    """The server's address its users reach (`https://host`): photo and other file cells link there."""

    @property
    def extension(self) -> str:
        if self.params.media or (self.params.format == "csv" and len(self.schema.tables) > 1):
            return "zip"
        return self.params.format

    @property
    def table_name(self) -> str:
        """The table file's name inside the zip of `media=true`."""
        return f"{self.filename.rpartition('.')[0]}.{self.params.format}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.extension]

    @property
    def filename(self) -> str:
        safe = re.sub(r"[^\w.-]+", "_", f"{self.project}-{self.schema.key}", flags=re.ASCII)
        return f"{safe}.{self.extension}"


async def prepare(
    db: Session, access: ProjectAccess, key: str, params: ExportParams, base_url: str | None = None
) -> Prepared:
    """The form's schema over all its published versions and the count of matching records; with a
    `base_url`, file answers become links to their files there."""
    form = await forms_store.form(db, access.id, key)
    if form is None:
        raise NotFound(f"No form {key!r} in this project.")
    versions = await forms_store.versions(db, form.id, published_only=True)
    if not versions:
        raise NotFound(f"Form {key!r} has no published version, so no records to export.")
    schema = layout.schema_of(key, [load_definition(v.definition) for v in versions])
    options = Options(
        labels=params.labels,
        lang=params.lang,
        pii=access.pii or access.user.admin,
        files=files_url(base_url, access.slug),
    )
    if params.format == "geojson":
        try:
            Features(schema, options, ZoneInfo(access.timezone), params.geometry)
        except GeometryError as exc:
            raise Invalid(
                str(exc), [Problem(loc=["query", "geometry"], code="not_a_geometry", message=str(exc))]
            ) from None
    area = await area_of(db, access, params) if params.area else None
    if area is not None:
        params = msgspec.structs.replace(params, filters=within(params.filters, area))
    return Prepared(
        project=access.slug,
        form_id=form.id,
        schema=schema,
        params=params,
        options=options,
        timezone=access.timezone,
        total=await exports_store.count(db, form.id, params.filters),
        area=(await layer_of(db, access, area.layer), area.position) if area is not None else None,
        project_id=access.id,
        base_url=base_url,
    )


def files_url(base_url: str | None, project: str) -> str | None:
    """Where the project's submissions' files are downloaded, under the server's address."""
    if base_url is None:
        return None
    return f"{base_url.rstrip('/')}/api/v1/projects/{quote(project, safe='')}/submissions"


def writer(
    prepared: Prepared, into: ZipStream | None = None
) -> Callable[[Iterator[Record]], Iterator[bytes]]:
    """The format's writer: records in, bytes out (pure, run in a worker thread). `into`: the table
    file(s) go into that zip (left open for the files to follow) and the bytes are what it drains."""
    if into is not None:
        plain = writer(
            msgspec.structs.replace(prepared, params=msgspec.structs.replace(prepared.params, media=False))
        )
        if prepared.params.format == "csv" and len(prepared.schema.tables) > 1:
            flattener = Flattener(prepared.schema, prepared.options)
            sheets = layout.sheets(flattener)
            tz = ZoneInfo(prepared.timezone)
            return lambda records: csv_writer.write_into(
                into, sheets, (row for r in records for row in flattener.rows(r)), tz
            )
        return lambda records: bundle.table_into(into, prepared.table_name, plain(records))
    tz = ZoneInfo(prepared.timezone)
    schema, options = prepared.schema, prepared.options
    if prepared.params.format == "geojson":
        features = Features(schema, options, tz, prepared.params.geometry)
        return lambda records: geojson.write(features.feature(r) for r in records)
    flattener = Flattener(schema, options)
    sheets = layout.sheets(flattener)

    def rows(records: Iterator[Record]) -> Iterator[tuple[int, list[Any]]]:
        for record in records:
            yield from flattener.rows(record)

    if prepared.params.format == "csv":
        return lambda records: csv_writer.write(sheets, rows(records), tz)

    dictionary = len(sheets)

    def with_dictionary(records: Iterator[Record]) -> Iterator[tuple[int, list[Any]]]:
        yield from rows(records)
        for entry in layout.dictionary_rows(schema, options):
            yield dictionary, entry

    return lambda records: xlsx.write(
        [*sheets, layout.dictionary_sheet(schema)], with_dictionary(records), tz
    )


def record_of(row: Sequence[Any]) -> Record:
    """A row of `exports_store.READ` (or of its first twelve, `COLUMNS`) as the export's record."""
    rid, revision, status, version, created, updated, email, lat, lon, accuracy, answers, meta = row[:12]
    leading = {
        "_record_id": str(rid),
        "_revision": revision,
        "_status": status,
        "_version": version,
        "_created_at": created,
        "_updated_at": updated,
        "_submitted_by": email,
        "_lat": lat,
        "_lon": lon,
        "_accuracy": accuracy,
        SUBMISSION: row[12] if len(row) > 12 else None,
    }
    if meta:
        leading |= {
            METADATA_COLUMN[k]: _metadata_value(k, v) for k, v in meta.items() if k in METADATA_COLUMN
        }
    return Record(leading=leading, version=version, answers=answers or {})


def _metadata_value(kind: str, value: Any) -> Any:
    """`start`/`end` as datetimes and `today` as a date (stored as ISO text), so Excel gets dates."""
    parse = {"start": datetime.fromisoformat, "end": datetime.fromisoformat, "today": date.fromisoformat}.get(
        kind
    )
    if parse is None or not isinstance(value, str):
        return value
    try:
        return parse(value)
    except ValueError:
        return value


async def stream(
    sessions: Sessions, prepared: Prepared, bridge: Bridge | None = None, media: MediaStore | None = None
) -> AsyncIterator[bytes]:
    """The export's bytes, read in one snapshot of the database from a server-side cursor; with
    `media=true`, a zip of the table file(s) and then the records' files from `media`."""
    bridge = bridge or Bridge()
    async with unit_of_work(sessions) as db:
        pages = exports_store.pages(db, prepared.form_id, prepared.params.filters)
        if prepared.area is not None:
            pages = inside(pages, prepared.area)
        if not prepared.params.media:
            async for chunk in bridge.run(pages, writer(prepared), record_of):
                yield chunk
            return
        if media is None:
            raise RuntimeError("an export with media=true needs the media store")
        zipped = ZipStream()
        async for chunk in bridge.run(pages, writer(prepared, zipped), record_of):
            yield chunk
        assert prepared.project_id is not None
        hidden = (
            set() if prepared.options.pii else {p for p, c in prepared.schema.fields.items() if c.sensitive}
        )
        found = files.sent(db, prepared.project_id, prepared.form_id, prepared.params.filters, prepared.area)
        async for chunk in files.added(found, media, zipped, hidden):
            yield chunk
        yield await asyncio.to_thread(zipped.close)


async def write_file(
    sessions: Sessions,
    prepared: Prepared,
    path: Path,
    on_progress: Callable[[int], None] | None = None,
    media: MediaStore | None = None,
) -> int:
    """The export written to `path` (through a temporary file beside it, renamed when complete); the
    number of records written. `on_progress(records)` is called as the writer takes them."""
    bridge = Bridge()
    partial = path.with_name(f".{path.name}.partial")
    out = await asyncio.to_thread(partial.open, "wb")
    try:
        async for chunk in stream(sessions, prepared, bridge, media):
            await asyncio.to_thread(out.write, chunk)
            if on_progress is not None:
                on_progress(bridge.count)
        await asyncio.to_thread(out.close)
        await asyncio.to_thread(partial.replace, path)
    finally:
        out.close()
        await asyncio.to_thread(partial.unlink, missing_ok=True)
    return bridge.count
