"""The city index in the city database: one table per area layer, `<project>__index__<layer>`, one row per
area keyed by its code, the index's columns (values, scores, groups, index, rank, coverage), and with
PostGIS the area as `geom geometry(MultiPolygon,4326)` (without it, its GeoJSON as jsonb).

A layer's table is replaced whole when any figure changed, in one transaction, and left alone when
none did: the index is computed before anything is written, so a failure writes nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from cityindex.render import columns, flat
from exports import city, city_values
from survey_api.db.session import Session
from survey_api.indexing.run import Run, index
from survey_api.stores import areas as areas_store
from survey_api.stores import city as city_store
from survey_api.web.access import ProjectAccess

KINDS = {"text": city.TEXT, "integer": city.BIGINT, "decimal": city.DOUBLE}


class Layer(msgspec.Struct, frozen=True, kw_only=True):
    layer: str
    table: city.CityTable
    rows: list[tuple[Any, ...]]
    geometries: list[str]
    fingerprint: str

    @property
    def form(self) -> str:
        """Its key in the target's state table."""
        return f"index:{self.layer}"


async def runs(db: Session, access: ProjectAccess) -> list[Run]:
    """The index of every area layer, when the project has indicators (else none)."""
    if await areas_store.indicators(db, access.id) is None:
        return []
    return [await index(db, access, name) for name, _, _ in await areas_store.layers(db, access.id)]


def layout(project: str, run: Run, previous: city.Names | None) -> Layer:
    """The layer's table (names kept from `previous`) and its rows, typed."""
    old = (previous or {}).get("", {})
    old_columns: dict[str, str] = old.get("columns", {})
    used = {"geom"} | set(old_columns.values())
    labels = {ind.key: ind.label for ind in run.settings.indicators}
    cols = []
    for name, kind in columns(run.settings, run.result.groups):
        key = name.removesuffix("_score")
        label = labels.get(key)
        note = "0–100 score" if name.endswith("_score") and key in labels else None
        column_name = old_columns.get(name) or city.unique(name.replace(":", "__"), used, name)
        cols.append(
            city.CityColumn(name=column_name, type=KINDS[kind], path=name, comment=city.comment(label, note))
        )
    table = city.CityTable(
        name=old.get("name") or city.identifier(f"{project}__index__{run.layer}"),
        path="",
        parent=None,
        columns=cols,
        comment=f"city index of project {project!r} over area layer {run.layer!r}: one row per area",
    )
    rows, geometries = [], []
    for row, area in zip(run.result.rows, run.areas, strict=True):
        values = flat(row, area, run.settings, run.result.groups, None)
        rows.append(tuple(values[c.path] for c in cols))
        geometries.append(msgspec.json.encode(area.geometry).decode())
    fingerprint = hashlib.sha256(msgspec.json.encode([cols, rows, geometries])).hexdigest()
    return Layer(layer=run.layer, table=table, rows=rows, geometries=geometries, fingerprint=fingerprint)


async def send(
    city_db: city_store.Target, project: str, layers: list[Layer], states: dict[str, city_store.State]
) -> list[tuple[str, int, int]]:
    """Each changed layer's table replaced; (table, rows written, areas gone) per layer."""
    counts = []
    for layer in layers:
        state = states.get(layer.form)
        async with city_db.transaction():
            created, kinds = await city_db.apply([layer.table])
            if not created and state is not None and state.fingerprint == layer.fingerprint:
                counts.append((layer.table.name, 0, 0))
                continue
            rows = []
            for row in layer.rows:
                rows.append(await _typed(city_db, layer.table, kinds[0], row))
            gone = set(await city_db.delete(layer.table, None))
            await city_db.put_areas(layer.table, rows, layer.geometries)
            names = {"": {"name": layer.table.name, "columns": {c.path: c.name for c in layer.table.columns}}}
            await city_db.save(
                project,
                layer.form,
                city_store.State(names=names, fingerprint=layer.fingerprint, cursor=(0, 0)),
            )
        counts.append((layer.table.name, len(rows), len(gone - {r[0] for r in rows})))
    return counts


async def _typed(
    city_db: city_store.Target, table: city.CityTable, kinds: list[str], row: tuple[Any, ...]
) -> tuple[Any, ...]:
    while True:
        try:
            return city_values.row(table, row, kinds)
        except city_values.Misfit as exc:
            kinds[exc.column] = await city_db.widen(
                table.name, table.columns[exc.column].name, kinds[exc.column], city.TEXT
            )
