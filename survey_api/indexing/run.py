"""One index run: the settings and the layer loaded, every clean record of the indicators' forms read
once from a server-side cursor (its point and only the answers the indicators name), located in its
area and tallied a page at a time; then `cityindex.compute`.

Aggregates read every field an indicator names, sensitive ones included: the index publishes only
figures per area, never an answer (an area's figure from a single record is as visible as the record
count beside it, so `min_records` is the knob for small areas).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence

import msgspec
import numpy as np

from cityindex.areas import Area, Locator
from cityindex.compute import IndexResult, Tally, compute
from cityindex.fields import check_against_forms, form_fields
from cityindex.settings import NUMBER_AGGREGATES, IndexSettings, SettingsError, decode_settings
from exports.layout import schema_of
from exports.schema import Schema
from forms.model import load_definition
from survey_api.db.session import Session
from survey_api.errors import Invalid, NotFound
from survey_api.stores import areas as areas_store
from survey_api.stores import exports as exports_store
from survey_api.stores import forms as forms_store
from survey_api.stores import index_reads
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
    """The index of `layer` from the project's indicators; `on_progress(records read, of)`.

    Pages are located and tallied in a worker thread while the next one is read (rule 10: the event
    loop keeps serving), and so is the computation (its 1,000 weight draws)."""
    stored = await areas_store.indicators(db, access.id)
    if stored is None:
        raise NotFound("This project has no indicators yet: PUT /projects/{project}/indicators first.")
    settings = msgspec.convert(stored, IndexSettings)
    areas = await load_areas(db, access, layer)
    locator = await asyncio.to_thread(Locator, areas)
    tally = Tally(settings, len(areas))
    forms = await schemas(db, access.id, {i.form for i in settings.indicators})
    total = 0
    if on_progress is not None:
        total = sum([await exports_store.count(db, form_id, Filters()) for form_id, _ in forms.values()])
    done = 0
    for key, (form_id, schema) in forms.items():
        paths = read_paths(settings, key)
        feeding: asyncio.Future[None] | None = None

        async def take(page: index_reads.Page, key: str = key, paths: list[str] = paths) -> None:
            nonlocal feeding, done
            if feeding is not None:
                await feeding
            feeding = asyncio.ensure_future(asyncio.to_thread(feed, tally, locator, key, paths, page))
            done += len(page.lons)
            if on_progress is not None:
                on_progress(done, total)

        await index_reads.each_page(db, form_id, answer_paths(schema, paths), take)
        if feeding is not None:
            await feeding
    result = await asyncio.to_thread(compute, settings, areas, tally, seed=SEED, draws=DRAWS)
    return Run(layer=layer, settings=settings, areas=areas, result=result)


def read_paths(settings: IndexSettings, form: str) -> list[str]:
    """The field paths the indicators of `form` read (`where` paths, and a mean's, sum's or median's
    field), in their order."""
    paths: dict[str, None] = {}
    for indicator in settings.indicators:
        if indicator.form != form:
            continue
        paths |= dict.fromkeys(indicator.where or {})
        if indicator.field is not None and indicator.aggregate in NUMBER_AGGREGATES:
            paths[indicator.field] = None
    return list(paths)


def answer_paths(schema: Schema, paths: Sequence[str]) -> list[index_reads.AnswerPath]:
    """Where each canonical field path sits in each version's answers, as `Flattener.scope` finds it:
    a renamed field (or one in a renamed group) under its old path in the older versions, a path
    another field held in a version not read there, and a field inside a repeat nowhere."""
    found = []
    inverse = {
        version: {canonical: path for path, canonical in alias.items()}
        for version, alias in schema.aliases.items()
    }
    for path in paths:
        if _in_repeat(schema, path):
            found.append(index_reads.AnswerPath(keys=None))
            continue
        by_version: dict[str, tuple[str, ...] | None] = {}
        for version, alias in schema.aliases.items():
            if path in inverse[version]:
                by_version[version] = tuple(inverse[version][path].split("/"))
            elif path in alias:  # in this version, the path is another field's older name
                by_version[version] = None
        found.append(index_reads.AnswerPath(keys=tuple(path.split("/")), by_version=by_version))
    return found


def _in_repeat(schema: Schema, path: str) -> bool:
    parent = path.rpartition("/")[0]
    while parent:
        if schema.containers.get(parent) == "repeat":
            return True
        parent = parent.rpartition("/")[0]
    return False


def feed(tally: Tally, locator: Locator, form: str, paths: Sequence[str], page: index_reads.Page) -> None:
    """One page of records located and tallied (in a worker thread)."""
    lons = np.array(page.lons, dtype=np.float64)
    lats = np.array(page.lats, dtype=np.float64)
    tally.add_many(form, locator.locate_many(lons, lats), dict(zip(paths, page.answers, strict=True)))
