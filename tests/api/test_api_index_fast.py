"""The index reads only the answers its indicators name, each where its record's version put it: the
same figures as flattening every whole record (the export's way), across a renamed field and group."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest

from cityindex.areas import Locator
from cityindex.compute import Tally, compute
from cityindex.settings import IndexSettings
from exports.rows import Flattener, Options
from survey_api.exporting.run import record_of
from survey_api.indexing.run import DRAWS, SEED, Run, index, load_areas, schemas
from survey_api.stores import areas as areas_store
from survey_api.stores import exports as exports_store
from survey_api.web.access import as_operator
from tests.api.test_api_index import DISTRICTS
from tests.factories import SYNC, batch, submission

BASE = "/api/v1/projects/korat"

V1 = {
    "key": "stalls",
    "version": "v1",
    "title": "Market stalls",
    "fields": [
        {"name": "location", "type": "geopoint"},
        {"name": "width", "type": "decimal"},
        {"name": "surface", "type": "select_one", "choices": "surface"},
        {
            "name": "shop",
            "type": "group",
            "fields": [{"name": "kind", "type": "select_one", "choices": "kind"}],
        },
        {"name": "trees", "type": "repeat", "fields": [{"name": "girth_cm", "type": "integer"}]},
    ],
    "choices": {
        "surface": [{"value": "concrete"}, {"value": "brick"}],
        "kind": [{"value": "food"}, {"value": "repair"}],
    },
}
V2 = V1 | {
    "version": "v2",
    "fields": [
        {"name": "location", "type": "geopoint"},
        {"name": "width_m", "type": "decimal", "renamed_from": "width"},
        {"name": "surface", "type": "select_one", "choices": "surface"},
        {
            "name": "stall",
            "type": "group",
            "renamed_from": "shop",
            "fields": [{"name": "kind", "type": "select_one", "choices": "kind"}],
        },
        {"name": "trees", "type": "repeat", "fields": [{"name": "girth_cm", "type": "integer"}]},
        {"name": "note", "type": "text"},
    ],
}
TRICKY = 'ร้าน "ป้า" C:\\new\\ใหม่\\\n\tแถวสอง \\u0041'
"""Every character a COPY or JSON escape could trip on: quotes, backslashes (one before `n`, one
before `u`), a newline and a tab."""
# (version, lon, lat, width, surface, kind): A (lon 102.00–102.01) and B (102.01–102.02), one nowhere
STALLS = [
    ("v1", 102.002, 14.902, 1.0, "concrete", "food"),
    ("v1", 102.005, 14.905, 3.0, "brick", "repair"),
    ("v2", 102.008, 14.908, 5.0, "concrete", "food"),
    ("v1", 102.012, 14.902, 2.0, "concrete", "food"),
    ("v2", 102.015, 14.905, 4.0, "brick", "food"),
    ("v2", 102.018, 14.908, 6.0, "brick", "repair"),
    ("v1", None, None, 9.0, "concrete", "food"),
]
INDICATORS = [
    {"key": "concrete", "label": "Concrete", "form": "stalls", "aggregate": "share",
     "where": {"surface": "concrete"}},
    {"key": "food", "label": "Food stalls", "form": "stalls", "aggregate": "count",
     "where": {"stall/kind": "food"}},
    {"key": "width", "label": "Mean width", "form": "stalls", "aggregate": "mean", "field": "width_m"},
    {"key": "width_median", "label": "Median width", "form": "stalls", "aggregate": "median",
     "field": "width_m"},
    {"key": "girth", "label": "Girth", "form": "stalls", "aggregate": "mean", "field": "trees/girth_cm"},
    {"key": "tricky", "label": "Tricky notes", "form": "stalls", "aggregate": "count", "where": {"note": TRICKY}},
]  # fmt: skip


def answers(version: str, lon: float | None, lat: float | None, width: float, surface: str, kind: str):
    group, width_name = ("shop", "width") if version == "v1" else ("stall", "width_m")
    found: dict[str, Any] = {width_name: width, "surface": surface, group: {"kind": kind}}
    found["trees"] = [{"girth_cm": 80}]
    if version == "v2":
        found["note"] = TRICKY if width == 5.0 else TRICKY[:-1]
    if lon is not None:
        found["location"] = {"lat": lat, "lon": lon, "accuracy": 5.0}
    return found


@pytest.fixture
async def stalls(client, member):
    coordinator = await member("coordinator", pii=True)
    for form in (V1, V2):
        created = await client.post(f"{BASE}/forms", json=form, headers=coordinator.headers)
        assert created.status_code == 201, created.text
        published = await client.post(
            f"{BASE}/forms/stalls/versions/{form['version']}/publish", headers=coordinator.headers
        )
        assert published.status_code == 200, published.text
    items = [submission("stalls", answers(*stall), version=stall[0]) for stall in STALLS]
    pushed = await client.post(SYNC, json=batch(*items), headers=coordinator.headers)
    assert [r["status"] for r in pushed.json()["results"]] == ["accepted"] * len(STALLS), pushed.text
    put = await client.put(f"{BASE}/areas/districts", json=DISTRICTS, headers=coordinator.headers)
    assert put.status_code == 200, put.text
    put = await client.put(f"{BASE}/indicators", json=INDICATORS, headers=coordinator.headers)
    assert put.status_code == 200, put.text
    return coordinator


async def test_renamed_fields_count_in_every_version_by_hand(client, stalls):
    response = await client.get(f"{BASE}/index/districts.json", headers=stalls.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    a, b, c = body["rows"]
    assert (a["records"], b["records"], c["records"]) == (3, 3, 0)
    assert a["values"] == pytest.approx(
        {"concrete": 2 / 3, "food": 2, "width": 3.0, "width_median": 3.0, "girth": None, "tricky": 1}
    )
    assert b["values"] == pytest.approx(
        {"concrete": 1 / 3, "food": 2, "width": 4.0, "width_median": 4.0, "girth": None, "tricky": 0}
    )
    assert "1 record(s) of the indicators' forms lie in no area" in body["notes"]


async def simple_index(db, access, layer: str) -> Run:
    """The index as it was first computed: every whole record flattened by the export's `Flattener`
    and tallied one at a time."""
    settings = msgspec.convert(await areas_store.indicators(db, access.id), IndexSettings)
    areas = await load_areas(db, access, layer)
    locator = Locator(areas)
    tally = Tally(settings, len(areas))
    for key, (form_id, schema) in (
        await schemas(db, access.id, {i.form for i in settings.indicators})
    ).items():
        flattener = Flattener(schema, Options(pii=True), lists=True)
        async for page in exports_store.pages(db, form_id, exports_store.Filters()):
            lons = np.array([np.nan if row[8] is None else row[8] for row in page], dtype=np.float64)
            lats = np.array([np.nan if row[7] is None else row[7] for row in page], dtype=np.float64)
            for row, area in zip(page, locator.locate_many(lons, lats).tolist(), strict=True):
                tally.add(key, area, flattener.scope(record_of(row))[0])
    result = compute(settings, areas, tally, seed=SEED, draws=DRAWS)
    return Run(layer=layer, settings=settings, areas=areas, result=result)


async def test_the_reading_of_only_named_answers_gives_the_simple_path_figures(stalls, sessionmaker):
    async with sessionmaker() as db, db.begin():
        access = await as_operator(db, "korat")
        fast = await index(db, access, "districts")
        simple = await simple_index(db, access, "districts")
    assert fast.result == simple.result
    assert [row.records for row in fast.result.rows] == [3, 3, 0]
