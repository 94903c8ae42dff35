"""One index run: the settings and the layer loaded, every clean record of the indicators' forms read
once from a server-side cursor, located in its area and tallied; then `cityindex.compute`.

Aggregates read every field an indicator names, sensitive ones included: the index publishes only
figures per area, never an answer (an area's figure from a single record is as visible as the record
count beside it, so `min_records` is the knob for small areas).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec
import numpy as np

from cityindex.areas import Area, Locator
from cityindex.compute import IndexResult, Tally, compute
from cityindex.fields import check_against_forms, form_fields
from cityindex.settings import IndexSettings, SettingsError, decode_settings
from exports.layout import schema_of
from exports.rows import Flattener, Options
from exports.schema import Schema
from forms.model import load_definition
from survey_api.db.session import Session
from survey_api.errors import Invalid, NotFound
from survey_api.exporting.run import record_of
from survey_api.stores import areas as areas_store
from survey_api.stores import exports as exports_store
from survey_api.stores import forms as forms_store
from survey_api.stores.exports import Filters
from survey_api.web.access import ProjectAccess

SEED = 20261130
"""The rank intervals' random weight draws are seeded: the same data and settings, the same index."""
DRAWS = 1000


class Run(msgspec.Struct, frozen=True, kw_only=True):
    layer: str
    settings: IndexSettings
    areas: list[Area]
    result: IndexResult


async def schemas(db: Session, project_id: uuid.UUID, keys: set[str]) -> dict[str, tuple[uuid.UUID, Schema]]:
    """(form id, merged export schema) of each named form that has a published version."""
    found = {}
    for key in sorted(keys):
        form = await forms_store.form(db, project_id, key)
        versions = await forms_store.versions(db, form.id, published_only=True) if form else []
        if form is not None and versions:
            found[key] = (form.id, schema_of(key, [load_definition(v.definition) for v in versions]))
    return found


async def checked_settings(db: Session, access: ProjectAccess, raw: object) -> IndexSettings:
    """Settings decoded and checked against the project's forms: 422 listing every problem."""
    try:
        settings = decode_settings(raw)
    except SettingsError as exc:
        raise Invalid("The indicators are not valid.", exc.problems) from None
    forms = await schemas(db, access.id, {i.form for i in settings.indicators})
    problems = check_against_forms(settings, {key: form_fields(schema) for key, (_, schema) in forms.items()})
    if problems:
        raise Invalid("The indicators do not fit the project's forms.", problems)
    return settings


async def load_areas(db: Session, access: ProjectAccess, layer: str) -> list[Area]:
    rows = await areas_store.layer(db, access.id, layer)
    if not rows:
        raise NotFound(f"No area layer {layer!r} in this project.")
    return [
        Area(code=r.code, name=r.name, geometry=r.geometry, area_km2=r.area_km2, names=r.names) for r in rows
    ]


async def index(
    db: Session, access: ProjectAccess, layer: str, on_progress: Callable[[int, int], None] | None = None
) -> Run:
    """The index of `layer` from the project's indicators; `on_progress(records read, of)`."""
    stored = await areas_store.indicators(db, access.id)
    if stored is None:
        raise NotFound("This project has no indicators yet: PUT /projects/{project}/indicators first.")
    settings = msgspec.convert(stored, IndexSettings)
    areas = await load_areas(db, access, layer)
    locator = Locator(areas)
    tally = Tally(settings, len(areas))
    forms = await schemas(db, access.id, {i.form for i in settings.indicators})
    totals = {key: await exports_store.count(db, form_id, Filters()) for key, (form_id, _) in forms.items()}
    total, done = sum(totals.values()), 0
    for key, (form_id, schema) in forms.items():
        flattener = Flattener(schema, Options(pii=True), lists=True)
        async for page in exports_store.pages(db, form_id, Filters(), size=5000):
            lons = np.array([np.nan if row[8] is None else row[8] for row in page], dtype=np.float64)
            lats = np.array([np.nan if row[7] is None else row[7] for row in page], dtype=np.float64)
            for row, area in zip(page, locator.locate_many(lons, lats).tolist(), strict=True):
                tally.add(key, area, flattener.scope(record_of(row))[0])
            done += len(page)
            if on_progress is not None:
                on_progress(done, total)
    return Run(
        layer=layer,
        settings=settings,
        areas=areas,
        result=compute(settings, areas, tally, seed=SEED, draws=DRAWS),
    )
