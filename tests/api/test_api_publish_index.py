"""Publish of the city index: one table per area layer, compared with the index's own CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from typing import Any

import pytest

from tests.api.city_database import *  # noqa: F403  (the fixtures)
from tests.api.city_database import city_rows, publish, same
from tests.factories import SYNC, batch, submission


def square(code: str, west: float) -> dict[str, Any]:
    ring = [[west, 14.90], [west + 0.01, 14.90], [west + 0.01, 14.91], [west, 14.91], [west, 14.90]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"code": code},
    }


INDICATORS = {
    "indicators": [
        {"key": "concrete", "label": {"th": "ทางเท้าคอนกรีต", "en": "Concrete sidewalk"}, "form": "sidewalk_audit",
         "aggregate": "share", "where": {"surface": "concrete"}, "direction": "higher_better", "weight": 2,
         "group": "society/safe", "normalization": "minmax"},
        {"key": "width", "label": "Mean width", "form": "sidewalk_audit", "aggregate": "mean", "field": "width_m",
         "direction": "higher_better", "weight": 1, "normalization": "minmax"},
    ],
}  # fmt: skip


@pytest.mark.parametrize("city_url", ["postgis", "plain"], indirect=True)
async def test_each_area_layer_is_a_table_of_the_index_with_its_polygons(
    client, field, city_url, city_schema
):
    coordinator, volunteer = field
    layer = {
        "type": "FeatureCollection",
        "features": [square("A", 102.00), square("B", 102.01), square("C", 102.02)],
    }
    assert (
        await client.put("/api/v1/projects/korat/areas/districts", json=layer, headers=coordinator.headers)
    ).is_success
    put = await client.put("/api/v1/projects/korat/indicators", json=INDICATORS, headers=coordinator.headers)
    assert put.status_code == 200, put.text

    async def push(*points: tuple[float, float, str, float]) -> None:
        items = [
            submission("sidewalk_audit", {"location": {"lat": lat, "lon": lon}, "surface": s, "width_m": w})
            for lon, lat, s, w in points
        ]
        response = await client.post(SYNC, json=batch(*items), headers=volunteer.headers)
        assert response.status_code == 200, response.text

    await push(
        (102.002, 14.902, "concrete", 1.0), (102.005, 14.905, "brick", 2.0), (102.015, 14.905, "brick", 3.0)
    )
    first = await publish(client, coordinator)
    assert first["korat__index__districts"] == (3, 0) and first["korat__sidewalk_audit"] == (3, 0)
    assert (await publish(client, coordinator))["korat__index__districts"] == (0, 0)

    index = await client.get("/api/v1/projects/korat/index/districts.csv", headers=coordinator.headers)
    expected = {r["code"]: r for r in csv.DictReader(io.StringIO(index.content.decode("utf-8-sig")))}
    rows = {r["code"]: r for r in await city_rows(city_url, city_schema, "korat__index__districts")}
    assert rows.keys() == expected.keys() == {"A", "B", "C"}
    for code, row in rows.items():
        for column in ("records", "concrete", "concrete_score", "width", "index", "rank"):
            assert same(expected[code][column], row[column]), (code, column)
        assert same(expected[code]["group:society/safe"], row["group__society/safe"])
    assert rows["A"]["records"] == 2 and rows["C"]["records"] == 0
    if "geom" in rows["A"]:
        dbname = city_url.rpartition("/")[2]
        done = await asyncio.to_thread(
            subprocess.run,
            ["ogrinfo", "-ro", "-so", f"PG:dbname={dbname} host=127.0.0.1 user=postgres schemas={city_schema}",
             "korat__index__districts"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert "Geometry: Multi Polygon" in done.stdout and "Feature Count: 3" in done.stdout
    else:
        assert json.loads(rows["A"]["geojson"])["type"] in ("Polygon", "MultiPolygon")

    await push((102.016, 14.906, "concrete", 5.0))
    again = await publish(client, coordinator)
    assert again["korat__index__districts"] == (3, 0) and again["korat__sidewalk_audit"] == (1, 0)
    rows = {r["code"]: r for r in await city_rows(city_url, city_schema, "korat__index__districts")}
    assert rows["B"]["records"] == 2
