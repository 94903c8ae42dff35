"""End to end: `survey-api export`, `index` and `publish` beside a running server do what the endpoints
do."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import openpyxl

from benchmarks.harness import Instance
from tests.e2e.fieldwork import API, auth, call, fresh_database, new_item, set_up


def test_the_export_command_writes_the_same_records_as_the_endpoint(instance: Instance, tmp_path) -> None:
    server = instance.serve().wait_ready()
    coordinator, volunteers = set_up(server, instance.create_admin(), tablets=1)
    items = [new_item() for _ in range(25)]
    with httpx.Client(base_url=server.url, headers=auth(volunteers[0]), timeout=30) as api:
        pushed = call(server, api, "POST", f"{API}/sync", 200, json={"submissions": items})
    assert {r["status"] for r in pushed["results"]} == {"accepted"}
    with httpx.Client(base_url=server.url, headers=auth(coordinator), timeout=30) as api:
        over_http = api.get(f"{API}/forms/sidewalk_audit/export.geojson")
        assert over_http.status_code == 200, server.explain(over_http)

    out = tmp_path / "audit.geojson"
    done = instance.cli("export", "korat", "sidewalk_audit", "--format", "geojson", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "25 records written" in done.stderr  # plain progress lines: stderr is not a terminal
    from_cli = json.loads(out.read_bytes())["features"]
    assert from_cli == json.loads(over_http.content)["features"]
    assert sorted(f["properties"]["shop_name"] for f in from_cli) == sorted(
        i["answers"]["shop_name"] for i in items
    )

    zipped = tmp_path / "audit.zip"
    done = instance.cli("export", "korat", "sidewalk_audit", "--format", "csv", "-o", str(zipped))
    assert done.returncode == 0, done.stderr
    assert sorted(zipfile.ZipFile(zipped).namelist()) == ["sidewalk_audit.csv", "trees.csv"]

    book = tmp_path / "audit.xlsx"
    done = instance.cli("export", "korat", "sidewalk_audit", "--format", "xlsx", "-o", str(book), "--labels")
    assert done.returncode == 0, done.stderr
    rows = list(
        openpyxl.load_workbook(io.BytesIO(book.read_bytes()))["sidewalk_audit"].iter_rows(values_only=True)
    )
    assert len(rows) == 26

    refused = instance.cli("export", "korat", "nope", "--format", "csv", "-o", str(tmp_path / "x.csv"))
    assert refused.returncode == 1 and "No form 'nope'" in refused.stderr
    bad = instance.cli("export", "korat", "sidewalk_audit", "--format", "csv", "--bbox", "1,2")
    assert bad.returncode == 1 and "bbox" in bad.stderr

    square = [[101.9, 14.8], [102.4, 14.8], [102.4, 15.2], [101.9, 15.2], [101.9, 14.8]]
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "K", "name": "Korat"},
         "geometry": {"type": "Polygon", "coordinates": [square]}},
    ]}  # fmt: skip
    indicator = {"key": "shops", "label": "Shops", "form": "sidewalk_audit", "aggregate": "count"}
    with httpx.Client(base_url=server.url, headers=auth(coordinator), timeout=30) as api:
        call(server, api, "PUT", f"{API}/areas/city", 200, json=layer)
        call(server, api, "PUT", f"{API}/indicators", 200, json=[indicator])
        over_http = call(server, api, "GET", f"{API}/index/city.json", 200)
    index = tmp_path / "index.json"
    done = instance.cli("index", "korat", "city", "--format", "json", "-o", str(index))
    assert done.returncode == 0, done.stderr
    assert "1 areas ranked" in done.stderr
    assert json.loads(index.read_bytes()) == over_http
    assert over_http["rows"][0]["values"] == {"shops": 25}

    with fresh_database("survey_cli") as city:
        instance.env["SURVEY_CITY_DATABASE_URL"] = city
        published = instance.cli("publish", "korat")
        assert published.returncode == 0, published.stderr
        assert "korat__sidewalk_audit: 25 upserted, 0 deleted" in published.stderr, published.stderr
        again = instance.cli("publish", "korat")
        assert "korat__sidewalk_audit: 0 upserted, 0 deleted" in again.stderr, again.stderr
