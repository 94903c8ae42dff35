"""Areas, indicators and the city index over HTTP, every figure computed by hand below."""

from __future__ import annotations

import asyncio
import io
import subprocess
from typing import Any

import openpyxl
import pytest

from tests.factories import SYNC, batch, item
from tests.tools import need

BASE = "/api/v1/projects/korat"


def square(code: str, west: float, name: Any) -> dict[str, Any]:
    """A 0.01° square south-west corner (west, 14.90), near Korat."""
    ring = [[west, 14.90], [west + 0.01, 14.90], [west + 0.01, 14.91], [west, 14.91], [west, 14.90]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"code": code, "name": name},
    }


DISTRICTS = {
    "type": "FeatureCollection",
    "features": [
        square("A", 102.00, {"th": "ในเมือง", "en": "Nai Mueang"}),
        square("B", 102.01, {"th": "หัวทะเล", "en": "Hua Thale"}),  # shares the border lon 102.01 with A
        square("C", 102.02, {"th": "โพธิ์กลาง", "en": "Pho Klang"}),  # no records
    ],
}
# (lon, lat, surface, width): A has four records (one on its border with B, which counts in A), B one
SHOPS = [
    (102.002, 14.902, "concrete", 1.0),
    (102.005, 14.905, "concrete", 2.0),
    (102.008, 14.908, "brick", 4.0),
    (102.010, 14.906, "concrete", 5.0),
    (102.015, 14.905, "brick", 3.0),
]
INDICATORS = {
    "aggregation": "arithmetic",
    "min_coverage": 0.5,
    "indicators": [
        {"key": "concrete", "label": {"th": "ทางเท้าคอนกรีต", "en": "Concrete sidewalk"}, "form": "sidewalk_audit",
         "aggregate": "share", "where": {"surface": "concrete"}, "direction": "higher_better", "weight": 2,
         "group": "society/safe", "normalization": "minmax"},
        {"key": "width", "label": "Mean width", "form": "sidewalk_audit", "aggregate": "mean", "field": "width_m",
         "direction": "higher_better", "weight": 1, "group": "society/inclusive", "normalization": "minmax"},
        {"key": "crowding", "label": "Shops per km²", "form": "sidewalk_audit", "aggregate": "density_km2",
         "direction": "lower_better", "weight": 1, "normalization": "minmax"},
    ],
}  # fmt: skip


@pytest.fixture
async def city(client, field, member):
    coordinator, volunteer = field
    items = [
        item(answers={"location": {"lat": lat, "lon": lon, "accuracy": 5.0}, "surface": s, "width_m": w,
                      "shop_name": f"shop {i}", "trees": []})
        for i, (lon, lat, s, w) in enumerate(SHOPS)
    ]  # fmt: skip
    pushed = await client.post(SYNC, json=batch(*items), headers=volunteer.headers)
    assert [r["status"] for r in pushed.json()["results"]] == ["accepted"] * 5, pushed.text
    put = await client.put(f"{BASE}/areas/districts", json=DISTRICTS, headers=coordinator.headers)
    assert put.status_code == 200, put.text
    assert put.json() == {"layer": "districts", "count": 3, "warnings": []}
    indicators = await client.put(f"{BASE}/indicators", json=INDICATORS, headers=coordinator.headers)
    assert indicators.status_code == 200, indicators.text
    return coordinator, await member("analyst")


async def test_the_index_matches_the_hand_computation(client, city):
    _, analyst = city
    response = await client.get(
        f"{BASE}/index/districts.json", params={"lang": "en"}, headers=analyst.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    layer = (await client.get(f"{BASE}/areas/districts", headers=analyst.headers)).json()
    km2 = {f["properties"]["code"]: f["properties"]["area_km2"] for f in layer["features"]}
    assert 1.19 < km2["A"] < 1.20  # 0.01° × 0.01° at 14.9° N, on the ellipsoid
    a, b, c = body["rows"]
    assert (a["code"], a["name"], a["records"], b["records"], c["records"]) == ("A", "Nai Mueang", 4, 1, 0)
    assert a["values"] == pytest.approx({"concrete": 0.75, "width": 3.0, "crowding": 4 / km2["A"]})
    assert b["values"] == pytest.approx({"concrete": 0.0, "width": 3.0, "crowding": 1 / km2["B"]})
    assert c["values"] == {"concrete": None, "width": None, "crowding": None}
    # min-max over A and B; equal widths score 100 both; crowding is lower_better
    assert a["scores"] == pytest.approx({"concrete": 100, "width": 100, "crowding": 0})
    assert b["scores"] == pytest.approx({"concrete": 0, "width": 100, "crowding": 100})
    assert a["index"] == pytest.approx((2 * 100 + 100 + 0) / 4) and b["index"] == pytest.approx(
        (0 + 100 + 100) / 4
    )
    assert (a["rank"], b["rank"], c["rank"], c["index"]) == (1, 2, None, None)
    assert a["groups"] == pytest.approx({"society/safe": 100, "society/inclusive": 100})
    assert c["coverage"] == {"indicators": 0, "of": 3, "weight_share": 0.0}
    assert a["coverage"]["weight_share"] == pytest.approx(1.0)
    assert a["rank_other_aggregation"] == 1 and a["rank_interval"][0] >= 1
    assert any("width" in note for note in body["notes"])  # all areas equal on it: every score 100


async def test_geometric_aggregation_by_hand(client, city):
    coordinator, analyst = city
    settings = {**INDICATORS, "aggregation": "geometric"}
    assert (
        await client.put(f"{BASE}/indicators", json=settings, headers=coordinator.headers)
    ).status_code == 200
    a, b, _ = (await client.get(f"{BASE}/index/districts.json", headers=analyst.headers)).json()["rows"]
    # G = Π (1 + 0.99 s)^(w/Σw), back to 0–100 as (G − 1) / 0.99
    assert a["index"] == pytest.approx((100 ** (3 / 4) - 1) / 0.99)
    assert b["index"] == pytest.approx((100 ** (2 / 4) - 1) / 0.99)


async def test_the_index_as_geojson_xlsx_and_csv(client, city, tmp_path):
    _, analyst = city
    geo = await client.get(f"{BASE}/index/districts.geojson", params={"lang": "th"}, headers=analyst.headers)
    assert geo.status_code == 200, geo.text
    features = geo.json()["features"]
    assert [f["properties"]["name"] for f in features] == ["ในเมือง", "หัวทะเล", "โพธิ์กลาง"]
    assert features[0]["geometry"]["type"] == "MultiPolygon" and features[0]["properties"]["index"] == 75
    need("ogrinfo", "gdal-bin")
    path = tmp_path / "index.geojson"
    path.write_bytes(geo.content)
    done = await asyncio.to_thread(
        subprocess.run,
        ["ogrinfo", "-ro", "-al", "-so", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "Feature Count: 3" in done.stdout, done.stderr
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    book = openpyxl.load_workbook(
        io.BytesIO((await client.get(f"{BASE}/index/districts.xlsx", headers=analyst.headers)).content)
    )
    assert book.sheetnames == ["index", "indicators"]
    rows = list(book["index"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("code", "name", "records", "concrete", "concrete_score")
    assert [r[header.index("index")] for r in rows[1:]] == [75, 50, None]
    explained = {r[0]: r for r in book["indicators"].iter_rows(values_only=True)}
    assert explained["concrete"][2] == "ทางเท้าคอนกรีต" and explained["crowding"][9] == "lower_better"
    csv = await client.get(f"{BASE}/index/districts.csv", headers=analyst.headers)
    assert csv.content.startswith(b"\xef\xbb\xbfcode,name,records,")
    assert len(csv.content.decode("utf-8-sig").strip().splitlines()) == 4


async def test_export_of_one_area_counts_its_border_once(client, city):
    coordinator, _ = city

    def names(response):
        assert response.status_code == 200, response.text
        return sorted(f["properties"]["shop_name"] for f in response.json()["features"])

    url = f"{BASE}/forms/sidewalk_audit/export.geojson"
    assert names(await client.get(url, params={"area": "districts:A"}, headers=coordinator.headers)) == [
        "shop 0",
        "shop 1",
        "shop 2",
        "shop 3",
    ]
    assert names(await client.get(url, params={"area": "districts:B"}, headers=coordinator.headers)) == [
        "shop 4"
    ]
    for area, said in (("districts:Z", "no area 'Z'"), ("blocks:A", "no area layer 'blocks'")):
        refused = await client.get(url, params={"area": area}, headers=coordinator.headers)
        assert refused.status_code == 422 and said in refused.json()["errors"][0]["message"]


async def test_bad_layers_and_indicators_are_422_naming_every_problem(client, city):
    coordinator, analyst = city
    broken = {"type": "FeatureCollection", "features": [
        square("A", 102.0, "ok"),
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[102, 14], [103, 15]]}, "properties": {"code": "L"}},
        square("A", 102.05, "again"),
    ]}  # fmt: skip
    refused = await client.put(f"{BASE}/areas/bad", json=broken, headers=coordinator.headers)
    assert refused.status_code == 422, refused.text
    assert {tuple(e["loc"][:2]) for e in refused.json()["errors"]} == {("features", 1), ("features", 2)}
    wrong = {"indicators": [
        {**INDICATORS["indicators"][0], "where": {"surface": "marble"}},
        {**INDICATORS["indicators"][1], "field": "height_m"},
    ]}  # fmt: skip
    refused = await client.put(f"{BASE}/indicators", json=wrong, headers=coordinator.headers)
    assert refused.status_code == 422, refused.text
    assert [e["code"] for e in refused.json()["errors"]] == ["unknown_choice", "unknown_field"]
    assert (
        await client.put(f"{BASE}/indicators", json=INDICATORS, headers=analyst.headers)
    ).status_code == 403
    assert (await client.get(f"{BASE}/index/nowhere.json", headers=analyst.headers)).status_code == 404
    assert (await client.get(f"{BASE}/index/districts.pdf", headers=analyst.headers)).status_code == 404
    assert (await client.delete(f"{BASE}/areas/districts", headers=coordinator.headers)).status_code == 204
    assert (await client.get(f"{BASE}/areas", headers=analyst.headers)).json() == {"items": []}


async def test_a_layer_over_20_mb_is_413_and_indicators_read_back(client, city):
    coordinator, analyst = city
    body = b'{"type": "FeatureCollection", "features": [], "padding": "' + b"x" * (21 * 1024 * 1024) + b'"}'
    too_big = await client.put(
        f"{BASE}/areas/huge",
        content=body,
        headers={**coordinator.headers, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.headers["content-type"].startswith("application/problem+json")
    stored = (await client.get(f"{BASE}/indicators", headers=analyst.headers)).json()
    assert [i["key"] for i in stored["indicators"]] == ["concrete", "width", "crowding"]
    assert stored["aggregation"] == "arithmetic" and stored["min_coverage"] == 0.5
    layers = (await client.get(f"{BASE}/areas", headers=analyst.headers)).json()["items"]
    assert [(layer["layer"], layer["count"]) for layer in layers] == [("districts", 3)]
